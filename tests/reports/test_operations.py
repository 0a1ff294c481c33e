"""Operator writes: bulk incident retry, set a variable (audited), move a token back."""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.audit.models import AuditEvent
from apps.common.actors import Actor
from apps.common.errors import Conflict, InvalidInput
from apps.engine import operator_services
from apps.engine import services as engine
from apps.engine.models import Incident, IncidentStatus, Job, JobStatus, ProcessInstance
from apps.inbox import services as inbox
from apps.inbox.models import HumanTask, TaskStatus
from apps.processes import services as process_services
from apps.reports import console
from tests.engine.conftest import run_jobs
from tests.reports import dataset as ds

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")
BPMN = Path(__file__).parent / "bpmn" / "expense_demo.bpmn"


@pytest.fixture
def version(db):
    result = process_services.version_deploy(xml=BPMN.read_bytes(), actor=SYSTEM)
    assert result.deployed, result.version.problems
    return result.version


def test_incidents_retry_retries_each_and_reports_failures(make_user):
    now = ds.fixed_now()
    inst = ds.instance("exp", created=now)
    jobs = [ds.job(inst, f"s{i}", created=now, status=JobStatus.INCIDENT) for i in range(2)]
    first, second = (ds.incident(inst, j.activity_id, job_row=j) for j in jobs)
    closed = ds.incident(inst, "s9")
    Incident.objects.filter(pk=closed.pk).update(status=IncidentStatus.RESOLVED)
    admin = make_user("admin")
    result = operator_services.incidents_retry(
        incident_ids=[first.pk, second.pk, closed.pk], actor=Actor.for_user(admin)
    )
    assert result["retried"] == [first.pk, second.pk]
    assert [f["incident_id"] for f in result["failed"]] == [closed.pk]
    assert "not open" in result["failed"][0]["message"]
    first.refresh_from_db()
    assert (first.status, first.resolved_by) == (IncidentStatus.RETRIED, admin)
    assert set(
        Job.objects.filter(pk__in=[j.pk for j in jobs]).values_list("status", flat=True)
    ) == {JobStatus.PENDING}


def test_variable_set_changes_state_and_audits_before_after(version, make_user):
    instance = engine.instance_start(version=version, variables={"amount": 5000}, actor=SYSTEM)
    admin = Actor.for_user(make_user("admin"))
    operator_services.instance_variable_set(
        instance_id=instance.pk, name="amount", value=20, actor=admin
    )
    instance.refresh_from_db()
    assert instance.variables["amount"] == 20
    event = AuditEvent.objects.filter(action="instance.variable_set").get()
    assert (event.before, event.after) == ({"amount": 5000}, {"amount": 20})
    # the engine reads the new value: approve, and notify gets amount 20
    task = HumanTask.objects.get(instance=instance, status=TaskStatus.OPEN)
    approver = make_user("manager")
    inbox.task_complete(
        task_id=task.pk, user=approver, data={"approved": True}, actor=Actor.for_user(approver)
    )
    notify = Job.objects.get(instance=instance, activity_id="notify_requester")
    assert notify.inputs == {"amount": 20}
    with pytest.raises(InvalidInput):
        operator_services.instance_variable_set(
            instance_id=instance.pk, name="bad name", value=1, actor=admin
        )


def test_variable_set_refused_on_finished_instance(version):
    instance = engine.instance_start(version=version, variables={"amount": 10}, actor=SYSTEM)
    run_jobs(instance)
    assert ProcessInstance.objects.get(pk=instance.pk).status == "completed"
    with pytest.raises(Conflict):
        operator_services.instance_variable_set(
            instance_id=instance.pk, name="x", value=1, actor=SYSTEM
        )


def test_token_moves_back_to_the_approval(version, make_user):
    instance = engine.instance_start(version=version, variables={"amount": 5000}, actor=SYSTEM)
    task = HumanTask.objects.get(instance=instance, status=TaskStatus.OPEN)
    approver = make_user("manager")
    inbox.task_complete(
        task_id=task.pk, user=approver, data={"approved": True}, actor=Actor.for_user(approver)
    )
    instance.refresh_from_db()
    assert Job.objects.get(instance=instance, activity_id="notify_requester").status == "pending"
    options = operator_services.instance_move_options(instance=instance)
    assert [e.activity_id for e in options.active] == ["notify_requester"]
    assert "manager_approval" in [e.activity_id for e in options.targets]
    operator = Actor.for_user(make_user("admin"))
    with pytest.raises(Conflict):
        operator_services.instance_token_move(
            instance_id=instance.pk,
            from_activity_id="manager_approval",
            to_activity_id="notify_requester",
            reason="test",
            actor=operator,
        )
    operator_services.instance_token_move(
        instance_id=instance.pk,
        from_activity_id="notify_requester",
        to_activity_id="manager_approval",
        reason="approved by mistake",
        actor=operator,
    )
    # the pending notification is cancelled, the approval is open again (a fresh task row)
    assert Job.objects.get(instance=instance, activity_id="notify_requester").status == "cancelled"
    tasks = HumanTask.objects.filter(instance=instance).order_by("pk")
    assert [(t.activity_id, t.status) for t in tasks] == [
        ("manager_approval", TaskStatus.COMPLETED),
        ("manager_approval", TaskStatus.OPEN),
    ]
    assert tasks[0].task_id != tasks[1].task_id
    event = AuditEvent.objects.filter(action="instance.token_moved").get()
    assert event.before["waiting_at"] == ["notify_requester"]
    assert event.after == {"waiting_at": ["manager_approval"]}
    assert event.data["reason"] == "approved by mistake"
    # and the instance can finish from there
    second = tasks[1]
    inbox.task_complete(
        task_id=second.pk, user=approver, data={"approved": False}, actor=Actor.for_user(approver)
    )
    assert ProcessInstance.objects.get(pk=instance.pk).status == "completed"


def test_incident_groups_are_read_in_one_query(django_assert_num_queries):
    # given open incidents in three groups (two in one), and one closed incident
    now = ds.fixed_now()
    inst = ds.instance("exp", created=now)
    jobs = [ds.job(inst, f"s{i}", created=now, status=JobStatus.INCIDENT) for i in range(3)]
    a1 = ds.incident(inst, "s0", job_row=jobs[0], message="boom")
    a2 = ds.incident(inst, "s0", job_row=jobs[1], message="boom")
    b = ds.incident(inst, "s1", job_row=jobs[2], message="boom")
    c = ds.incident(inst, "s2", message="other")
    closed = ds.incident(inst, "s9")
    Incident.objects.filter(pk=closed.pk).update(status=IncidentStatus.RESOLVED)
    # when the groups are read, with at most one incident each
    with django_assert_num_queries(1):
        groups = console.incident_groups(per_group=1)
        # then the largest group comes first, each with its oldest incident and its instance
        assert [
            (g["activity_id"], g["message"], g["count"], [i.pk for i in g["incidents"]])
            for g in groups
        ] == [("s0", "boom", 2, [a1.pk]), ("s1", "boom", 1, [b.pk]), ("s2", "other", 1, [c.pk])]
        assert groups[0]["incidents"][0].instance.process_key == "exp"
    assert [i.pk for i in console.incident_groups(per_group=None)[0]["incidents"]] == [a1.pk, a2.pk]
    assert console.incident_groups(process_key="nope") == []
