"""The invariant checker: a clean data set passes every check; each deliberately broken row is
reported with its exact message."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from apps.audit.actions import AuditAction
from apps.audit.models import AuditEvent
from apps.audit.services import chain_link_pending, record
from apps.common.actors import Actor
from apps.engine import services as engine
from apps.engine.models import InstanceStatus, Job, JobStatus, ProcessInstance, Timer
from apps.inbox import services as inbox
from apps.inbox.models import HumanTask, TaskStatus
from apps.invariants.checks import run_checks
from apps.processes.services import version_deploy
from tests.audit.support import tamper
from tests.engine.conftest import run_jobs

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")
BPMN = Path(__file__).parent / "bpmn" / "mixed.bpmn"


@pytest.fixture(autouse=True)
def _own_anchor_file(tmp_path, settings):
    settings.AUDIT_ANCHOR_PATH = str(tmp_path / "anchors.jsonl")


@pytest.fixture
def version():
    result = version_deploy(xml=BPMN.read_bytes(), actor=SYSTEM)
    assert result.deployed, result.version.problems
    return result.version


@pytest.fixture
def people(make_user):
    return {"requester": make_user("designer"), "approver": make_user("approver")}


def start(version, people) -> ProcessInstance:
    return engine.instance_start(
        version=version,
        variables={"amount": 7},
        actor=Actor.for_user(people["requester"]),
        started_by=people["requester"],
    )


def at_timer(version, people) -> ProcessInstance:
    instance = start(version, people)
    run_jobs(instance)
    return ProcessInstance.objects.get(pk=instance.pk)


def at_review(version, people) -> ProcessInstance:
    instance = at_timer(version, people)
    engine.timers_fire_due(now=timezone.now() + timedelta(seconds=5))
    return ProcessInstance.objects.get(pk=instance.pk)


def completed(version, people) -> ProcessInstance:
    instance = at_review(version, people)
    task = HumanTask.objects.get(instance=instance)
    approver = people["approver"]
    inbox.task_complete(
        task_id=task.pk, user=approver, data={"approved": True}, actor=Actor.for_user(approver)
    )
    run_jobs(instance)
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.COMPLETED
    return instance


def messages(check: str, **kwargs) -> list[str]:
    return [v.message for v in run_checks(only=[check], **kwargs).violations]


def test_a_clean_data_set_passes_every_check(version, people):
    done = completed(version, people)
    waiting = at_review(version, people)
    chain_link_pending()
    report = run_checks()
    assert [str(v) for v in report.violations] == []
    assert report.instances == 2
    assert len(report.checks) == 12
    assert ProcessInstance.objects.get(pk=done.pk).variables["booked"] == 7
    assert HumanTask.objects.get(instance=waiting).status == TaskStatus.OPEN


def test_a_test_run_waiting_on_its_user_task_is_no_violation(version, people):
    """A designer's test run has no inbox task (decision 024-test-runs-isolated): it waits
    on its user task without a HumanTask row, and that is how it should be."""
    instance = at_timer(version, people)
    ProcessInstance.objects.filter(pk=instance.pk).update(is_test_run=True)
    engine.timers_fire_due(now=timezone.now() + timedelta(seconds=5))
    assert not HumanTask.objects.filter(instance=instance).exists()
    assert messages("instance_idle") == []
    assert messages("instance_tokens") == []


def test_the_command_says_ok_on_a_clean_data_set(version, people, capsys):
    completed(version, people)
    chain_link_pending()
    call_command("check_invariants")
    assert capsys.readouterr().out == "OK: 12 checks, 0 violations over 1 instances\n"


def test_a_job_running_past_its_lease_is_stuck(version, people):
    instance = start(version, people)
    now = timezone.now()
    job = Job.objects.get(instance=instance)
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, lease_expires_at=now - timedelta(seconds=100)
    )
    assert messages("job_stuck", now=now) == [
        f"job {job.pk} (prepare, instance {instance.pk}) is running on a lease that expired "
        "100s ago; the sweeper should have taken it back within 15s"
    ]


def test_a_due_job_nobody_takes_is_stuck(version, people, settings):
    settings.FLOWGATE_JOB_LOST_AFTER_SECONDS = 30
    instance = start(version, people)
    now = timezone.now()
    job = Job.objects.get(instance=instance)
    Job.objects.filter(pk=job.pk).update(run_after=now - timedelta(seconds=100))
    assert messages("job_stuck", now=now) == [
        f"job {job.pk} (prepare, instance {instance.pk}) has been due for 100s without a worker "
        "taking it (bound 45s)"
    ]
    assert messages("job_stuck", now=now - timedelta(seconds=60)) == []


def test_a_running_instance_waiting_on_nothing_is_reported(version, people):
    instance = at_review(version, people)
    HumanTask.objects.filter(instance=instance).update(status=TaskStatus.CANCELLED)
    assert messages("instance_idle") == [
        f"instance {instance.pk} (mixed) is running but waits on nothing: no live job, timer, "
        "message subscription or open task"
    ]


def test_a_job_result_applied_twice_is_reported(version, people):
    instance = completed(version, people)
    job = Job.objects.get(instance=instance, activity_id="prepare")
    record(AuditAction.JOB_SUCCEEDED, instance=instance, actor=SYSTEM, job_id=job.pk)
    assert messages("job_applied_once") == [
        f"job {job.pk} (prepare) is done but its result was applied 2 times (job.succeeded or "
        "routed job.failed events), not once"
    ]


def test_a_job_done_without_its_result_is_reported(version, people):
    instance = at_timer(version, people)
    job = Job.objects.create(
        instance=instance,
        task_id="extra",
        activity_id="ghost",
        connector="echo",
        status=JobStatus.DONE,
        run_after=timezone.now(),
    )
    assert messages("job_applied_once") == [
        f"job {job.pk} (ghost) is done but its result was applied 0 times (job.succeeded or "
        "routed job.failed events), not once"
    ]


def test_a_task_completed_twice_is_reported(version, people):
    instance = completed(version, people)
    task = HumanTask.objects.get(instance=instance)
    record(AuditAction.TASK_APPROVED, instance=instance, actor=SYSTEM, task_id=task.pk)
    assert messages("one_completion_per_task") == [
        f"task {task.pk} (completed) has 2 completion event(s), expected 1"
    ]


def test_a_state_change_with_two_events_or_none_is_reported(version, people):
    instance = completed(version, people)
    waiting = at_review(version, people)
    record(AuditAction.INSTANCE_STARTED, instance=instance, actor=SYSTEM)
    record(AuditAction.INSTANCE_COMPLETED, instance=waiting, actor=SYSTEM)
    assert messages("one_event_per_change") == [
        f"instance {instance.pk} (completed) has 2 instance.started event(s), expected 1",
        f"instance {waiting.pk} (running) has 1 instance.completed event(s), expected 0",
    ]


def test_an_altered_audit_event_breaks_the_chain(version, people):
    instance = completed(version, people)
    chain_link_pending()
    event = AuditEvent.objects.filter(instance_id=instance.pk).order_by("position").first()
    seq = event.link.seq
    tamper("UPDATE audit_auditevent SET actor_label = %s WHERE position = %s", ("x", event.pk))
    assert messages("audit_chain") == [
        f"the audit chain does not verify: broken at position {seq}: event {event.pk} does not "
        "match its hash: the event or link was altered"
    ]


def test_a_timer_fired_twice_is_reported(version, people):
    instance = at_review(version, people)
    timer = Timer.objects.get(instance=instance)
    data = {"activity_id": "wait", "due_at": timer.due_at.isoformat()}
    record(AuditAction.TIMER_FIRED, instance=instance, actor=SYSTEM, data=data)
    assert messages("timers") == [
        f"timer wait of instance {instance.pk} due {timer.due_at.isoformat()} fired 2 times"
    ]


def test_a_timer_marked_fired_without_its_event_is_reported(version, people):
    instance = at_timer(version, people)
    timer = Timer.objects.get(instance=instance)
    Timer.objects.filter(pk=timer.pk).update(fired_at=timezone.now())
    assert messages("timers") == [
        f"timer {timer.pk} (wait, instance {instance.pk}) is marked fired but no timer.fired "
        "event records it"
    ]


def test_an_overdue_timer_is_reported(version, people):
    instance = at_timer(version, people)
    timer = Timer.objects.get(instance=instance)
    assert messages("timers", now=timer.due_at + timedelta(seconds=5)) == []
    assert messages("timers", now=timer.due_at + timedelta(seconds=60)) == [
        f"timer {timer.pk} (wait, instance {instance.pk}) was due 60s ago and has not fired "
        "(bound 11s)"
    ]


def test_an_open_task_of_a_finished_instance_is_reported(version, people):
    instance = at_review(version, people)
    task = HumanTask.objects.get(instance=instance)
    ProcessInstance.objects.filter(pk=instance.pk).update(status=InstanceStatus.COMPLETED)
    assert messages("task_of_finished_instance") == [
        f"task {task.pk} 'Review' is open but its instance {instance.pk} is completed"
    ]


def test_rows_that_disagree_with_the_engine_state_are_reported(version, people):
    instance = start(version, people)
    job = Job.objects.get(instance=instance)
    Job.objects.filter(pk=job.pk).update(status=JobStatus.CANCELLED)
    reviewing = at_review(version, people)
    ProcessInstance.objects.filter(pk=reviewing.pk).update(waits=0)
    assert messages("instance_tokens") == [
        f"instance {instance.pk}: the engine state waits on live jobs {{{job.task_id}}} but the "
        "rows are nothing",
        f"instance {reviewing.pk}: waits is 0 but the engine state waits on 4",
    ]


def test_a_finished_instance_with_live_rows_is_reported(version, people):
    instance = at_timer(version, people)
    timer = Timer.objects.get(instance=instance)
    ProcessInstance.objects.filter(pk=instance.pk).update(status=InstanceStatus.CANCELLED)
    assert messages("instance_tokens") == [
        f"instance {instance.pk}: is cancelled but still has timers {{{timer.task_id}}}",
        f"instance {instance.pk}: is cancelled but has no ended_at",
    ]


def test_the_command_lists_violations_and_fails(version, people, capsys):
    instance = at_review(version, people)
    task = HumanTask.objects.get(instance=instance)
    ProcessInstance.objects.filter(pk=instance.pk).update(status=InstanceStatus.COMPLETED)
    with pytest.raises(CommandError) as failure:
        call_command("check_invariants", "--only", "task_of_finished_instance")
    assert str(failure.value) == "1 invariant violation(s) over 1 instances"
    assert capsys.readouterr().out == (
        f"- [task_of_finished_instance] task {task.pk} 'Review' is open but its instance "
        f"{instance.pk} is completed\n"
    )


# --- a completed instance reached an end event ---------------------------------------------------


def test_a_completed_instance_that_never_reached_an_end_event_is_reported(version, people):
    # the engine bug's shape: Spiff's depth-limited iterator saw no unfinished task, the instance
    # was marked completed and its variables erased, but no end event ever ran
    instance = at_review(version, people)
    state = json.loads(instance.state)
    state["status"] = "completed"
    state["wf"]["completed"] = True
    HumanTask.objects.filter(instance=instance).update(status=TaskStatus.CANCELLED)
    ProcessInstance.objects.filter(pk=instance.pk).update(
        status=InstanceStatus.COMPLETED,
        ended_at=timezone.now(),
        waits=0,
        state=json.dumps(state),
        variables={},
    )
    record(AuditAction.INSTANCE_COMPLETED, instance=instance, actor=SYSTEM)
    chain_link_pending()
    report = run_checks()
    # the engine no longer believes a stored "completed" flag without an end event (decision 022),
    # so the token check sees a running state too; the new check names the cause
    assert [str(v) for v in report.violations] == [
        f"[instance_tokens] instance {instance.pk}: is completed but its engine state is running",
        f"[completed_without_end] instance {instance.pk} (mixed) is completed but never reached "
        "an end event: its stored state shows neither the process's End task nor a terminate "
        "end event completed",
    ]


def test_an_instance_ended_by_a_terminate_end_event_reached_its_end():
    result = version_deploy(xml=(BPMN.parent / "terminate.bpmn").read_bytes(), actor=SYSTEM)
    assert result.deployed, result.version.problems
    instance = engine.instance_start(version=result.version, variables={}, actor=SYSTEM)
    assert instance.status == InstanceStatus.COMPLETED
    assert messages("completed_without_end") == []
    assert messages("instance_tokens") == []
