"""Migration details (issue #21, decision 035): a re-created inbox task keeps its claim while
the person is still a candidate; message subscriptions take the new version's correlation key;
a timer keeps its due time when its definition is unchanged and starts again when it changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.common.actors import Actor
from apps.engine import operator_services
from apps.engine import services as engine
from apps.engine.models import MessageSubscription, Timer
from apps.inbox import services as inbox
from apps.inbox.models import HumanTask, TaskStatus
from apps.processes import services as process_services
from tests.engine.conftest import run_jobs

pytestmark = pytest.mark.django_db(transaction=True)
OPERATOR = Actor.system("test-operator")
V1 = (Path(__file__).parent / "bpmn" / "move_token.bpmn").read_text()


def deploy(xml: str):
    result = process_services.version_deploy(xml=xml.encode(), actor=OPERATOR)
    assert result.deployed, result.version.problems
    return result.version


def start(version):
    return engine.instance_start(
        version=version, variables={"days": 2, "order_id": "A1"}, actor=OPERATOR
    )


def migrate(instance, to: int):
    report = operator_services.instance_migrate(
        instance_id=instance.pk, to_version=to, actor=OPERATOR
    )
    assert report["moved"] is True, report
    return report


def open_task(instance) -> HumanTask:
    return HumanTask.objects.get(instance=instance, status=TaskStatus.OPEN)


def test_a_claim_is_kept_while_the_person_is_still_a_candidate(make_user):
    v1 = deploy(V1)
    deploy(V1.replace('name="Book"', 'name="Book a room"'))  # v2: same candidates
    deploy(
        V1.replace(
            'candidateGroups="approver">\n      <bpmn:incoming>f1',
            'candidateGroups="manager">\n      <bpmn:incoming>f1',
        )
    )  # v3
    kept, dropped = start(v1), start(v1)
    alice = make_user("approver", username="alice")
    for instance in (kept, dropped):
        inbox.task_claim(task_id=open_task(instance).pk, user=alice, actor=Actor.for_user(alice))
    claimed_at = open_task(kept).claimed_at

    migrate(kept, 2)
    task = open_task(kept)
    assert (task.assignee, task.claimed_at) == (alice, claimed_at)

    migrate(dropped, 3)  # review is now for managers: alice is no candidate any more
    task = open_task(dropped)
    assert (task.assignee, task.candidate_groups) == (None, ["manager"])
    assert HumanTask.objects.filter(instance=dropped, status=TaskStatus.CANCELLED).count() == 1


def test_a_changed_timer_starts_again_an_unchanged_one_keeps_its_due_time():
    v1 = deploy(V1)
    deploy(V1.replace('name="Book"', 'name="Book a room"'))  # v2: the timer unchanged
    deploy(V1.replace("PT1H", "PT3H"))  # v3: the reminder after 3 hours
    first, second = start(v1), start(v1)
    due = Timer.objects.get(instance=first).due_at

    migrate(first, 2)
    assert Timer.objects.get(instance=first, cancelled=False).due_at == due

    Timer.objects.filter(instance=second).update(due_at=due)  # (same start for the comparison)
    migrate(second, 3)
    [timer] = Timer.objects.filter(instance=second, cancelled=False)
    delta = (timer.due_at - due).total_seconds()
    assert 2 * 3600 - 60 < delta < 2 * 3600 + 60  # armed again: 3 h from the move


def test_a_subscription_takes_the_new_versions_correlation_key(make_user):
    v1 = deploy(V1)
    deploy(
        V1.replace(
            'flowgate:correlationKey="order_id"', "flowgate:correlationKey=\"'ORD-' + order_id\""
        )
    )
    instance = start(v1)
    operator_services.instance_token_move(
        instance_id=instance.pk,
        from_activity_id="review",
        to_activity_id="wait_paid",
        reason="test",
        actor=OPERATOR,
    )
    assert list(
        MessageSubscription.objects.filter(instance=instance).values_list(
            "correlation_key", flat=True
        )
    ) == ["A1"]
    migrate(instance, 2)
    assert list(
        MessageSubscription.objects.filter(instance=instance).values_list(
            "correlation_key", flat=True
        )
    ) == ["ORD-A1"]
    delivered = engine.message_correlate(name="paid", correlation_key="ORD-A1", actor=OPERATOR)
    assert [i.pk for i in delivered] == [instance.pk]
    assert open_task(instance).activity_id == "confirm"
    run_jobs(instance)
