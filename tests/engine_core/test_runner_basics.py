"""Start/end/terminate, user, service, manual, plain and send tasks; state handling."""

import json

import pytest

from apps.engine.core.errors import EngineError, TaskDataError, TaskNotFound, TaskStateError
from apps.engine.core.runner import ProcessRunner
from tests.engine_core.helpers import T0, Clock, activities, compiled, restore, runner


def test_user_then_service_task_with_save_and_restore_between_steps():
    r = runner("user_service.bpmn")
    instance = r.start({"customer": "ann@example.com"})
    effects = instance.effects()
    assert effects.status == "running"
    [task] = effects.user_tasks
    assert task.activity_id == "review"
    assert task.name == "Review order"
    assert task.candidate_groups == ("approver",)
    assert task.candidate_users == ()
    assert task.assignee is None
    assert task.due == "2030-01-03T09:00:00+00:00"
    assert task.priority == 70
    assert task.form == {"components": [{"type": "textfield", "key": "comment"}]}
    assert task.approval is True
    assert task.documentation == "Check the amount."
    assert activities(effects, "entered") == ["start", "review"]
    assert activities(effects, "completed") == ["start"]

    instance = restore(r, instance)
    assert instance.effects().user_tasks[0].task_id == task.task_id
    assert instance.effects().events == ()
    instance.complete_user_task(task.task_id, {"outcome": "approved", "comment": "fine"})
    effects = instance.effects()
    [job] = effects.service_tasks
    assert (job.activity_id, job.connector, job.max_attempts) == ("notify", "email", 5)
    assert job.inputs == {"to": "ann@example.com", "subject": "Order approved"}
    assert [(e.kind, e.activity_id, e.activity_type) for e in effects.events] == [
        ("completed", "review", "UserTask"),
        ("entered", "notify", "ServiceTask"),
    ]

    instance = restore(r, instance)
    instance.complete_service_task(job.task_id, {"id": "msg-1", "ignored": True})
    effects = instance.effects()
    assert effects.status == "completed"
    assert effects.variables == {
        "customer": "ann@example.com",
        "outcome": "approved",
        "comment": "fine",
        "message_id": "msg-1",
    }
    assert activities(effects, "completed") == ["notify", "end"]


def test_approval_requires_an_outcome():
    r = runner("user_service.bpmn")
    instance = r.start({"customer": "x"})
    [task] = instance.effects().user_tasks
    with pytest.raises(TaskDataError, match="set 'outcome' to 'approved' or 'rejected'"):
        instance.complete_user_task(task.task_id, {"outcome": "maybe"})


def test_completing_a_task_twice_is_a_state_error():
    r = runner("user_service.bpmn")
    instance = r.start({"customer": "x"})
    [task] = instance.effects().user_tasks
    state_before = instance.dump()
    instance.complete_user_task(task.task_id, {"outcome": "rejected"})
    with pytest.raises(TaskStateError, match="cannot be completed: it is completed"):
        instance.complete_user_task(task.task_id, {"outcome": "rejected"})
    other = r.load(state_before)
    other.complete_user_task(task.task_id, {"outcome": "approved"})
    job = other.effects().service_tasks[0]
    with pytest.raises(TaskStateError, match="is not a user task"):
        other.complete_user_task(job.task_id, {})
    with pytest.raises(TaskStateError, match="is not a service task"):
        r.load(state_before).complete_service_task(task.task_id, {})


def test_unknown_task_ids_are_not_found():
    instance = runner("user_service.bpmn").start({"customer": "x"})
    with pytest.raises(TaskNotFound):
        instance.complete_user_task("not-a-uuid", {})
    with pytest.raises(TaskNotFound):
        instance.complete_user_task("00000000-0000-0000-0000-000000000000", {})


def test_dump_holds_only_versioned_state_without_the_spec():
    r = runner("user_service.bpmn")
    state = r.start({"customer": "x"}).dump()
    document = json.loads(state)
    assert document["v"] == 1
    assert document["status"] == "running"
    assert "spec" not in document["wf"]
    assert "subprocess_specs" not in document["wf"]
    assert "task_specs" not in state
    assert len(state) < 6000
    with pytest.raises(EngineError, match="Unsupported instance state format"):
        r.load(json.dumps({"v": 99}))
    with pytest.raises(EngineError, match="not valid JSON"):
        r.load("{")
    other = runner("bench.bpmn")
    with pytest.raises(EngineError, match="does not fit this process version"):
        other.load(state)


def test_runner_is_reusable_for_many_instances():
    r = runner("user_service.bpmn")
    first = r.start({"customer": "a"})
    second = r.start({"customer": "b"})
    assert first.effects().user_tasks[0].task_id != second.effects().user_tasks[0].task_id
    assert r.load(first.dump()).variables() == {"customer": "a"}


def test_terminate_end_event_finishes_the_instance_and_cancels_open_work():
    r = runner("terminate.bpmn")
    instance = r.start({})
    effects = instance.effects()
    assert [t.activity_id for t in effects.user_tasks] == ["slow"]
    [job] = effects.service_tasks
    instance = restore(r, instance)
    instance.complete_service_task(job.task_id, {})
    effects = instance.effects()
    assert effects.status == "completed"
    assert effects.user_tasks == ()
    assert "slow" in activities(effects, "cancelled")
    assert "kill" in activities(effects, "completed")


def test_manual_and_plain_tasks_pass_through_and_send_tasks_emit_messages():
    r = runner("send_manual.bpmn")
    instance = r.start({"a": 1})
    effects = instance.effects()
    assert effects.status == "completed"
    assert activities(effects, "completed") == [
        "start",
        "sign_paper",
        "note",
        "announce",
        "announce_again",
        "end",
    ]
    assert [(m.name, m.payload) for m in effects.messages_sent] == [
        ("work_done", {"a": 1}),
        ("work_done", {"a": 1}),
    ]


def test_cancel_stops_everything():
    r = runner("user_service.bpmn")
    instance = r.start({"customer": "x"})
    [task] = instance.effects().user_tasks
    instance = restore(r, instance)
    instance.cancel()
    effects = instance.effects()
    assert effects.status == "cancelled"
    assert effects.user_tasks == ()
    assert activities(effects, "cancelled") == ["review"]
    restored = restore(r, instance)
    assert restored.effects().status == "cancelled"
    with pytest.raises(TaskStateError, match="cancelled"):
        restored.complete_user_task(task.task_id, {"outcome": "approved"})


def test_event_timestamps_come_from_the_runner_clock():
    clock = Clock(T0)
    instance = runner("user_service.bpmn", clock=clock).start({"customer": "x"})
    assert {e.at for e in instance.effects().events} == {T0}


def test_start_needs_a_none_start_event_or_an_explicit_one():
    r = runner("timer_start.bpmn")
    with pytest.raises(EngineError, match="starts only on a timer or a message"):
        r.start({})
    with pytest.raises(EngineError, match="'nope' is not a start event"):
        r.start({}, start_event_id="nope")


def test_runner_refuses_unknown_spec_format():
    with pytest.raises(EngineError, match="Unsupported spec format"):
        ProcessRunner(json.dumps({"format": 7}))


def test_spec_is_reused_not_copied_into_state():
    spec_json = compiled("bench.bpmn").spec_json
    r = ProcessRunner(spec_json)
    instance = r.start({})
    assert len(instance.dump()) < len(spec_json)
