"""Engine services end to end in-process: deploy, start, jobs, user tasks, incidents, lifecycle."""

from __future__ import annotations

import pytest

from apps.audit.actions import AuditAction
from apps.audit.models import AuditEvent
from apps.common.actors import Actor
from apps.common.errors import Conflict, InvalidInput, NotFound
from apps.connectors.base import ConnectorError
from apps.engine import services
from apps.engine.models import Incident, IncidentStatus, InstanceStatus, Job, JobStatus
from apps.inbox import services as inbox
from apps.inbox.models import HumanTask, TaskStatus
from apps.processes import services as process_services
from apps.processes.models import ProcessVersion, VersionStatus
from tests.engine.conftest import bpmn, run_jobs

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")

CALLS: dict[str, int] = {}


def unit_flaky(inputs, context):
    CALLS[context.idempotency_key] = CALLS.get(context.idempotency_key, 0) + 1
    if CALLS[context.idempotency_key] <= int(inputs.get("fail_times", 1)):
        raise ConnectorError("temporarily unavailable", permanent=False)
    return {"calls": CALLS[context.idempotency_key]}


def unit_permanent(inputs, context):
    raise ConnectorError("400 Bad Request: account unknown", permanent=True)


@pytest.fixture(autouse=True)
def _unit_connectors(local_connectors):
    local_connectors({"unit_flaky": unit_flaky, "unit_permanent": unit_permanent})


def _actions(instance_id: int) -> list[str]:
    return list(
        AuditEvent.objects.filter(instance_id=instance_id)
        .order_by("position")
        .values_list("action", flat=True)
    )


def test_deploy_stores_an_immutable_version_and_is_idempotent_for_the_same_file(deploy):
    version = deploy("bench_auto.bpmn")
    assert (version.definition.key, version.number, version.status) == (
        "bench_auto",
        1,
        VersionStatus.DEPLOYED,
    )
    assert version.metadata["connectors"] == ["echo"]
    again = process_services.version_deploy(xml=bpmn("bench_auto.bpmn"), actor=SYSTEM)
    assert (again.created, again.version.pk) == (False, version.pk)
    changed = process_services.version_deploy(
        xml=bpmn("bench_auto.bpmn").replace(b"Prepare", b"Prep"), actor=SYSTEM
    )
    assert (changed.created, changed.version.number) == (True, 2)
    assert AuditEvent.objects.filter(action=AuditAction.PROCESS_DEPLOYED).count() == 2


def test_invalid_bpmn_is_kept_as_a_draft_with_all_problems():
    xml = (
        bpmn("bench_auto.bpmn")
        .replace(b'flowgate:connector="echo"', b"")
        .replace(b'default="f3b"', b"")
    )
    result = process_services.version_deploy(xml=xml, actor=SYSTEM)
    assert result.deployed is False
    version = result.version
    assert version.status == VersionStatus.DRAFT and version.spec_json == ""
    problem_elements = {p["element_id"] for p in version.problems}
    assert {"prepare", "left", "right"} <= problem_elements


def test_unsafe_xml_is_refused_and_nothing_is_stored():
    evil = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"/>'
    with pytest.raises(InvalidInput) as info:
        process_services.version_deploy(xml=evil, actor=SYSTEM)
    assert info.value.code == "unsafe_xml"
    assert ProcessVersion.objects.count() == 0


def test_an_automatic_process_runs_to_completion_through_jobs(deploy):
    version = deploy("bench_auto.bpmn")
    instance = services.instance_start(version=version, variables={"n": 7}, actor=SYSTEM)
    assert list(instance.jobs.values_list("activity_id", "status")) == [
        ("prepare", JobStatus.PENDING)
    ]
    assert run_jobs(instance) == 3
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.COMPLETED
    assert instance.ended_at is not None
    assert {k: instance.variables[k] for k in ("prepared", "left_done", "right_done")} == {
        "prepared": 7,
        "left_done": "left",
        "right_done": "right",
    }
    assert sorted(instance.jobs.values_list("activity_id", flat=True)) == [
        "left",
        "prepare",
        "right",
    ]
    assert set(instance.jobs.values_list("status", flat=True)) == {JobStatus.DONE}
    actions = _actions(instance.pk)
    assert actions[0] == AuditAction.INSTANCE_STARTED
    assert actions[-1] == AuditAction.INSTANCE_COMPLETED
    assert actions.count(AuditAction.JOB_SUCCEEDED) == 3


def test_running_a_job_twice_applies_its_result_once(deploy):
    instance = services.instance_start(
        version=deploy("bench_auto.bpmn"), variables={"n": 1}, actor=SYSTEM
    )
    job = instance.jobs.get()
    assert services.job_run(job_id=job.pk, worker_id="a") >= 1
    assert services.job_run(job_id=job.pk, worker_id="b") == 0  # already done: nothing to claim
    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.DONE, 1)


def test_approval_enforces_four_eyes_and_a_second_completion_conflicts(deploy, make_user):
    requester = make_user("approver", username="req")
    approver = make_user("approver", username="boss")
    outsider = make_user("designer", username="other")
    instance = services.instance_start(
        version=deploy("approval.bpmn"),
        variables={"amount": 120},
        actor=Actor.for_user(requester),
        started_by=requester,
    )
    task = HumanTask.objects.get(instance=instance)
    assert (task.name, task.candidate_groups, task.is_approval, task.requested_by) == (
        "Review expense",
        ["approver"],
        True,
        requester,
    )
    with pytest.raises(NotFound):
        inbox.task_complete(
            task_id=task.pk, user=outsider, data={"approved": True}, actor=Actor.for_user(outsider)
        )
    with pytest.raises(Exception) as four_eyes:
        inbox.task_complete(
            task_id=task.pk,
            user=requester,
            data={"approved": True},
            actor=Actor.for_user(requester),
        )
    assert getattr(four_eyes.value, "code", "") == "four_eyes"
    with pytest.raises(InvalidInput):
        inbox.task_complete(task_id=task.pk, user=approver, data={}, actor=Actor.for_user(approver))
    inbox.task_complete(
        task_id=task.pk, user=approver, data={"approved": True}, actor=Actor.for_user(approver)
    )
    with pytest.raises(Conflict):
        inbox.task_complete(
            task_id=task.pk, user=approver, data={"approved": True}, actor=Actor.for_user(approver)
        )
    task.refresh_from_db()
    assert (task.status, task.outcome, task.completed_by) == (
        TaskStatus.COMPLETED,
        "approved",
        approver,
    )
    run_jobs(instance)
    instance.refresh_from_db()
    assert (instance.status, instance.variables["booked"]) == (InstanceStatus.COMPLETED, 120)
    assert AuditEvent.objects.filter(action=AuditAction.TASK_APPROVED, task_id=task.pk).count() == 1


def test_completing_a_task_writes_one_audit_event_that_carries_the_engines_steps(deploy, make_user):
    # Given an approval waiting for a decision
    requester, approver = make_user(username="req3"), make_user("approver", username="boss3")
    instance = services.instance_start(
        version=deploy("approval.bpmn"), variables={"amount": 7}, actor=SYSTEM, started_by=requester
    )
    task = HumanTask.objects.get(instance=instance)
    before = AuditEvent.objects.filter(instance_id=instance.pk).count()
    # When the approver approves
    inbox.task_complete(
        task_id=task.pk, user=approver, data={"approved": True}, actor=Actor.for_user(approver)
    )
    # Then exactly one event records it, with the task, the decision and what the engine did next
    new = list(AuditEvent.objects.filter(instance_id=instance.pk).order_by("position")[before:])
    assert [e.action for e in new] == [AuditAction.TASK_APPROVED]
    (event,) = new
    assert (event.task_id, event.actor_label, event.after["outcome"]) == (
        task.pk,
        "boss3",
        "approved",
    )
    completed = [s["activity_id"] for s in event.data["steps"] if s["kind"] == "completed"]
    assert completed[0] == task.activity_id


def test_rejection_takes_the_default_flow(deploy, make_user):
    requester, approver = make_user(username="req2"), make_user("approver", username="boss2")
    instance = services.instance_start(
        version=deploy("approval.bpmn"), variables={"amount": 5}, actor=SYSTEM, started_by=requester
    )
    task = HumanTask.objects.get(instance=instance)
    inbox.task_complete(
        task_id=task.pk, user=approver, data={"approved": False}, actor=Actor.for_user(approver)
    )
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.COMPLETED
    assert not instance.jobs.exists()


def test_suspend_resume_cancel_follow_the_transition_table(deploy):
    instance = services.instance_start(
        version=deploy("approval.bpmn"), variables={"amount": 1}, actor=SYSTEM
    )
    services.instance_suspend(instance_id=instance.pk, actor=SYSTEM)
    with pytest.raises(Conflict):
        services.instance_suspend(instance_id=instance.pk, actor=SYSTEM)
    services.instance_resume(instance_id=instance.pk, actor=SYSTEM)
    services.instance_cancel(instance_id=instance.pk, actor=SYSTEM)
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.CANCELLED
    assert HumanTask.objects.get(instance=instance).status == TaskStatus.CANCELLED
    with pytest.raises(Conflict):
        services.instance_resume(instance_id=instance.pk, actor=SYSTEM)
    assert _actions(instance.pk)[-3:] == [
        AuditAction.INSTANCE_SUSPENDED,
        AuditAction.INSTANCE_RESUMED,
        AuditAction.INSTANCE_CANCELLED,
    ]


def _single_service_process(connector: str, extra: str = "") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:flowgate="http://flowgate.dev/schema/bpmn/1.0" id="D" targetNamespace="t">
  <bpmn:process id="p_{connector}" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>a</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="call" flowgate:connector="{connector}" flowgate:maxAttempts="3">
      <bpmn:extensionElements><flowgate:input name="fail_times" expression="fail_times" /></bpmn:extensionElements>
      <bpmn:incoming>a</bpmn:incoming><bpmn:outgoing>b</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:endEvent id="EndEvent_1"><bpmn:incoming>b</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="a" sourceRef="StartEvent_1" targetRef="call" />
    <bpmn:sequenceFlow id="b" sourceRef="call" targetRef="EndEvent_1" />
  </bpmn:process>
</bpmn:definitions>""".encode()


def _deploy_xml(xml: bytes) -> ProcessVersion:
    result = process_services.version_deploy(xml=xml, actor=SYSTEM)
    assert result.deployed, result.version.problems
    return result.version


def test_retryable_failures_back_off_then_succeed(settings):
    settings.FLOWGATE_JOB_RETRY_BASE_SECONDS = 0
    instance = services.instance_start(
        version=_deploy_xml(_single_service_process("unit_flaky")),
        variables={"fail_times": 2},
        actor=SYSTEM,
    )
    run_jobs(instance)
    instance.refresh_from_db()
    job = instance.jobs.get()
    assert (instance.status, job.status, job.attempts) == (
        InstanceStatus.COMPLETED,
        JobStatus.DONE,
        3,
    )
    assert instance.variables.get("fail_times") == 2
    assert CALLS[job.idempotency_key] == 3
    assert _actions(instance.pk).count(AuditAction.JOB_FAILED) == 2


def test_exhausted_retries_open_an_incident_that_can_be_retried(settings):
    settings.FLOWGATE_JOB_RETRY_BASE_SECONDS = 0
    instance = services.instance_start(
        version=_deploy_xml(_single_service_process("unit_flaky")),
        variables={"fail_times": 4},
        actor=SYSTEM,
    )
    run_jobs(instance)
    incident = Incident.objects.get(instance=instance)
    assert incident.status == IncidentStatus.OPEN
    assert incident.message == "Failed 3 of 3 attempts; last error: temporarily unavailable"
    assert instance.jobs.get().status == JobStatus.INCIDENT
    services.incident_retry(incident_id=incident.pk, actor=SYSTEM)
    with pytest.raises(Conflict):
        services.incident_retry(incident_id=incident.pk, actor=SYSTEM)
    run_jobs(instance)
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.COMPLETED


def test_permanent_errors_do_not_retry():
    instance = services.instance_start(
        version=_deploy_xml(_single_service_process("unit_permanent")),
        variables={"fail_times": 0},
        actor=SYSTEM,
    )
    run_jobs(instance)
    job = instance.jobs.get()
    assert (job.status, job.attempts) == (JobStatus.INCIDENT, 1)
    assert Incident.objects.get(instance=instance).message == "400 Bad Request: account unknown"


def test_unknown_connector_is_refused_at_deploy_or_becomes_a_clear_incident():
    result = process_services.version_deploy(
        xml=_single_service_process("does_not_exist"), actor=SYSTEM
    )
    if result.deployed:
        instance = services.instance_start(
            version=result.version, variables={"fail_times": 0}, actor=SYSTEM
        )
        run_jobs(instance)
        assert "does_not_exist" in Incident.objects.get(instance=instance).message
    else:
        assert any("does_not_exist" in p["message"] for p in result.version.problems)


def test_lost_messages_and_expired_leases_are_recovered_by_the_sweeper(deploy, settings):
    from datetime import timedelta

    from django.utils import timezone

    from apps.reports.selectors.common import Period
    from apps.reports.selectors.costs import process_costs

    instance = services.instance_start(
        version=deploy("bench_auto.bpmn"), variables={"n": 3}, actor=SYSTEM
    )
    job = instance.jobs.get()
    claimed = services.job_claim(job_id=job.pk, worker_id="dead-worker")
    assert claimed is not None and claimed.status == JobStatus.RUNNING
    # the worker took the step 10 s ago and died; its lease ran out 1 s ago
    now = timezone.now()
    Job.objects.filter(pk=job.pk).update(
        started_at=now - timedelta(seconds=10), lease_expires_at=now - timedelta(seconds=1)
    )
    assert services.jobs_sweep() == {"expired_leases": 1, "enqueued": 1}
    job.refresh_from_db()
    assert (job.status, job.attempts, job.locked_by) == (JobStatus.PENDING, 1, "")
    # the lost attempt is timed from its start to its lease's expiry, apart from failed ones
    assert job.lost_attempts_seconds == pytest.approx(9.0, abs=0.01)
    assert job.failed_attempts_seconds == 0.0
    run_jobs(instance)
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.COMPLETED
    job.refresh_from_db()
    assert job.lost_attempts_seconds == pytest.approx(9.0, abs=0.01)  # counted once
    # the cost figures include it: worker seconds = the lost attempt + the finishing ones
    [row] = process_costs(
        period=Period(since=now - timedelta(hours=1), until=timezone.now() + timedelta(hours=1)),
        process_key="bench_auto",
    )
    assert row["lost_worker_seconds"] == pytest.approx(9.0, abs=0.01)
    assert 9.0 <= row["worker_seconds"] < 15.0


def test_an_expired_lease_reclaimed_by_another_worker_or_on_its_last_attempt_is_timed(deploy):
    from datetime import timedelta

    from django.utils import timezone

    instance = services.instance_start(
        version=deploy("bench_auto.bpmn"), variables={"n": 3}, actor=SYSTEM
    )
    job = instance.jobs.get()
    assert services.job_claim(job_id=job.pk, worker_id="dead-worker") is not None
    now = timezone.now()
    Job.objects.filter(pk=job.pk).update(
        started_at=now - timedelta(seconds=4), lease_expires_at=now - timedelta(seconds=2)
    )
    # a redelivered message: another worker claims the expired lease without the sweeper
    again = services.job_claim(job_id=job.pk, worker_id="live-worker")
    assert again is not None and again.attempts == 2
    job.refresh_from_db()
    assert job.lost_attempts_seconds == pytest.approx(2.0, abs=0.01)
    # the last attempt's worker dies too: the sweeper opens an incident and times that attempt
    Job.objects.filter(pk=job.pk).update(
        max_attempts=2,
        started_at=now - timedelta(seconds=3),
        lease_expires_at=now - timedelta(seconds=1),
    )
    services.jobs_sweep()
    job.refresh_from_db()
    assert job.status == JobStatus.INCIDENT
    assert job.lost_attempts_seconds == pytest.approx(4.0, abs=0.01)


def test_variables_must_be_a_json_object_with_identifier_names(deploy):
    version = deploy("bench_auto.bpmn")
    with pytest.raises(InvalidInput):
        services.instance_start(version=version, variables={"bad name": 1}, actor=SYSTEM)
    with pytest.raises(InvalidInput):
        services.instance_start(version=version, variables=["n"], actor=SYSTEM)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        services.instance_start(process_key="nope", actor=SYSTEM)
