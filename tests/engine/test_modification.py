"""Moving a token (issue #21, instance modification) through the runtime on PostgreSQL: the
cancelled element's waits go, the target's are created (inbox task, job, timer, message
subscription), the preview changes nothing, the reason is audited, refusals are specific."""

from __future__ import annotations

import pytest

from apps.audit.models import AuditEvent
from apps.common.actors import Actor
from apps.common.errors import Conflict, InvalidInput
from apps.engine import operator_services
from apps.engine import services as engine
from apps.engine.models import (
    InstanceStatus,
    Job,
    JobStatus,
    MessageSubscription,
    ProcessInstance,
    Timer,
)
from apps.inbox.models import HumanTask, TaskStatus
from apps.invariants.checks import run_checks
from tests.engine.conftest import run_jobs

pytestmark = pytest.mark.django_db(transaction=True)
OPERATOR = Actor.system("test-operator")


@pytest.fixture
def instance(deploy):
    version = deploy("move_token.bpmn")
    return engine.instance_start(
        version=version, variables={"days": 2, "order_id": "A1"}, actor=OPERATOR
    )


def move(instance, source: str, target: str, *, dry_run: bool = False, reason: str = "fix"):
    return operator_services.instance_token_move(
        instance_id=instance.pk,
        from_activity_id=source,
        to_activity_id=target,
        reason=reason,
        dry_run=dry_run,
        actor=OPERATOR,
    )


def waits(instance) -> dict[str, list]:
    return {
        "tasks": list(
            HumanTask.objects.filter(instance=instance, status=TaskStatus.OPEN).values_list(
                "activity_id", flat=True
            )
        ),
        "jobs": list(
            Job.objects.filter(instance=instance, status=JobStatus.PENDING).values_list(
                "activity_id", flat=True
            )
        ),
        "timers": list(
            Timer.objects.filter(instance=instance, fired_at=None, cancelled=False).values_list(
                "activity_id", flat=True
            )
        ),
        "messages": list(
            MessageSubscription.objects.filter(instance=instance).values_list(
                "activity_id", "correlation_key"
            )
        ),
    }


def test_the_preview_says_what_is_cancelled_and_started_and_changes_nothing(instance):
    state = ProcessInstance.objects.get(pk=instance.pk).state
    audit = AuditEvent.objects.count()
    report = move(instance, "review", "wait_paid", dry_run=True)
    assert report["dry_run"] is True
    assert (report["waiting_before"], report["waiting_after"]) == (
        ["remind", "review"],
        ["wait_paid"],
    )
    assert sorted((w["kind"], w["activity_id"]) for w in report["waits_removed"]) == [
        ("timer", "remind"),
        ("user_task", "review"),
    ]
    assert report["waits_created"] == [
        {"kind": "message", "activity_id": "wait_paid", "detail": "paid"}
    ]
    assert ProcessInstance.objects.get(pk=instance.pk).state == state
    assert AuditEvent.objects.count() == audit
    assert waits(instance) == {
        "tasks": ["review"],
        "jobs": [],
        "timers": ["remind"],
        "messages": [],
    }


def test_a_token_moves_forward_and_back_and_its_waits_follow(instance):
    move(instance, "review", "wait_paid", reason="paid by phone, skip the review")
    assert waits(instance) == {
        "tasks": [],
        "jobs": [],
        "timers": [],
        "messages": [("wait_paid", "A1")],
    }
    assert HumanTask.objects.get(instance=instance, activity_id="review").status == (
        TaskStatus.CANCELLED
    )
    assert Timer.objects.get(instance=instance, activity_id="remind").cancelled is True
    event = AuditEvent.objects.filter(action="instance.token_moved").get()
    assert event.before == {"waiting_at": ["remind", "review"]}
    assert event.after == {"waiting_at": ["wait_paid"]}
    assert event.data["reason"] == "paid by phone, skip the review"
    assert (event.data["from_activity_id"], event.data["to_activity_id"]) == (
        "review",
        "wait_paid",
    )

    move(instance, "wait_paid", "book")  # back, onto a service task: a job
    assert waits(instance) == {"tasks": [], "jobs": ["book"], "timers": [], "messages": []}
    move(instance, "book", "review")  # further back: the inbox task and its timer again
    book = Job.objects.get(instance=instance, activity_id="book")
    assert book.status == JobStatus.CANCELLED
    assert waits(instance) == {
        "tasks": ["review"],
        "jobs": [],
        "timers": ["remind"],
        "messages": [],
    }
    assert HumanTask.objects.filter(instance=instance, activity_id="review").count() == 2

    assert HumanTask.objects.get(instance=instance, status=TaskStatus.OPEN).candidate_groups == [
        "approver"
    ]
    move(instance, "review", "confirm")
    assert waits(instance)["tasks"] == ["confirm"]
    move(instance, "confirm", "done")
    assert ProcessInstance.objects.get(pk=instance.pk).status == InstanceStatus.COMPLETED
    assert run_checks().violations == []


def test_a_suspended_instance_moves_and_its_new_job_waits_for_the_resume(instance):
    engine.instance_suspend(instance_id=instance.pk, actor=OPERATOR)
    move(instance, "review", "book")
    row = ProcessInstance.objects.get(pk=instance.pk)
    assert row.status == InstanceStatus.SUSPENDED
    assert waits(instance)["jobs"] == ["book"]
    engine.instance_resume(instance_id=instance.pk, actor=OPERATOR)
    run_jobs(instance)
    assert waits(instance)["messages"] == [("wait_paid", "A1")]


@pytest.mark.parametrize(
    ("source", "target", "error", "code"),
    [
        ("review", "remind", InvalidInput, "boundary_event"),
        ("review", "begin", InvalidInput, "start_event"),
        ("review", "nowhere", InvalidInput, "unknown_target"),
        ("book", "review", Conflict, "not_active"),
    ],
)
def test_moves_that_cannot_be_made_are_refused_and_change_nothing(
    instance, source, target, error, code
):
    state = ProcessInstance.objects.get(pk=instance.pk).state
    with pytest.raises(error) as refused:
        move(instance, source, target)
    assert refused.value.code == code
    assert ProcessInstance.objects.get(pk=instance.pk).state == state
    assert not AuditEvent.objects.filter(action="instance.token_moved").exists()


def test_the_reason_is_required_and_an_ended_or_busy_instance_is_refused(instance):
    with pytest.raises(InvalidInput) as refused:
        move(instance, "review", "book", reason="  ")
    assert refused.value.code == "reason_required"
    move(instance, "review", "book")
    Job.objects.filter(instance=instance).update(status=JobStatus.RUNNING)
    with pytest.raises(Conflict) as refused:
        move(instance, "book", "review")
    assert refused.value.code == "step_running"
    Job.objects.filter(instance=instance).update(status=JobStatus.PENDING)
    engine.instance_cancel(instance_id=instance.pk, actor=OPERATOR, reason="done")
    with pytest.raises(Conflict) as refused:
        move(instance, "book", "review")
    assert refused.value.code == "instance_not_active"


def test_the_console_options_list_active_elements_and_every_step(instance):
    options = operator_services.instance_move_options(
        instance=ProcessInstance.objects.get(pk=instance.pk)
    )
    assert [e.activity_id for e in options.active] == ["review"]
    assert [e.activity_id for e in options.targets] == [
        "book",
        "confirm",
        "done",
        "late",
        "review",
        "wait_paid",
    ]
