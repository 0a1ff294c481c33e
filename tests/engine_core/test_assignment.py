"""Assignment attributes: Flowgate, Camunda 7 and lanes."""

from datetime import timedelta

from tests.engine_core.helpers import T0, Clock, activities, restore, runner


def test_camunda_model_runs_unchanged():
    r = runner("camunda.bpmn")
    instance = r.start({"invoice_id": "I-1", "initiator": "dora", "priority_hint": 90})
    [job] = instance.effects().service_tasks
    assert (job.activity_id, job.connector, job.inputs) == (
        "fetch_invoice",
        "invoice-fetch",
        {"invoiceId": "I-1", "source": "erp"},
    )
    instance = restore(r, instance)
    instance.complete_service_task(job.task_id, {"amount": 3000})
    [task] = instance.effects().user_tasks
    assert task.activity_id == "approve_invoice"
    assert task.candidate_groups == ("approver", "finance")
    assert task.candidate_users == ("carol",)
    assert task.assignee == "dora"
    assert task.priority == 90
    assert task.due == "2030-01-04T09:00:00+00:00"
    assert task.form_key == "embedded:app:forms/approve.html"
    instance = restore(r, instance)
    instance.complete_user_task(task.task_id, {})
    assert instance.effects().status == "completed"


def test_camunda_collection_multi_instance():
    r = runner("camunda.bpmn")
    instance = r.start({"invoice_id": "I-2", "initiator": "dora", "reviewers": ["r1", "r2"]})
    [job] = instance.effects().service_tasks
    instance.complete_service_task(job.task_id, {"amount": 30})
    tasks = instance.effects().user_tasks
    assert [(t.activity_id, t.assignee) for t in tasks] == [
        ("review_each", "r1"),
        ("review_each", "r2"),
    ]


def test_lane_named_after_a_role_assigns_its_user_tasks():
    r = runner("lanes.bpmn", known_roles={"finance", "operations"})
    instance = r.start({})
    [pay] = instance.effects().user_tasks
    assert (pay.activity_id, pay.lane, pay.candidate_groups) == ("pay", "finance", ("finance",))
    instance = restore(r, instance)
    instance.complete_user_task(pay.task_id, {})
    [ship] = instance.effects().user_tasks
    # Explicit candidates win over the lane.
    assert (ship.lane, ship.candidate_groups, ship.candidate_users) == (
        "operations",
        (),
        ("alice", "bob"),
    )


def test_user_task_due_date_is_computed_from_entry_time():
    r = runner("user_service.bpmn")
    [task] = r.start({"customer": "x"}).effects().user_tasks
    assert task.due == (T0.replace(day=3)).isoformat()
    assert activities(r.start({"customer": "y"}).effects(), "entered")[-1] == "review"


def test_designer_export_with_diagram_interchange_runs():
    clock = Clock()
    r = runner("designer_export.bpmn", clock=clock)
    instance = r.start({"employee": "e1"})
    effects = instance.effects()
    assert [t.activity_id for t in effects.user_tasks] == ["Activity_approve"]
    assert [(t.activity_id, t.due_at) for t in effects.timers] == [
        ("Event_remind", T0 + timedelta(days=1))
    ]
    instance = restore(r, instance)
    instance.fire_due_timers(T0 + timedelta(days=1))
    effects = instance.effects()
    assert [j.activity_id for j in effects.service_tasks] == ["Activity_remind"]
    instance = restore(r, instance)
    instance.complete_user_task(effects.user_tasks[0].task_id, {"outcome": "rejected"})
    effects = instance.effects()
    assert "Event_refused" in activities(effects, "completed")
    assert [j.activity_id for j in effects.service_tasks] == ["Activity_remind"]
