"""Element ids that SpiffWorkflow uses for its own task specs (``Start``, ``End``, ``Root``,
``<process>.EndJoin``, ``<task>.BoundaryEventSplit``) deploy, run and reach the inbox under the
modeller's own ids (issue #21)."""

from __future__ import annotations

import pytest

from apps.common.actors import Actor
from apps.engine.models import InstanceStatus, Timer
from apps.inbox import services
from apps.inbox.selectors import inbox_list
from tests.inbox.conftest import open_task, start

pytestmark = pytest.mark.django_db(transaction=True)


def test_engine_names_run_end_to_end_under_the_modellers_ids(deploy_inbox, people):
    version = deploy_inbox("engine_names.bpmn")
    assert version.status == "deployed"
    instance = start("flow", people["requester"], amount=1)

    review = open_task(instance, "Review")
    [timer] = Timer.objects.filter(instance=instance)
    assert timer.activity_id == "Review.BoundaryEventSplit"
    assert [t.activity_id for t in inbox_list(user=people["approver"])] == ["Review"]

    services.task_complete(
        task_id=review.pk,
        user=people["approver"],
        data={},
        actor=Actor.for_user(people["approver"]),
    )
    sign_off = open_task(instance, "flow.EndJoin")
    assert sign_off.name == "Sign off"
    assert Timer.objects.get(pk=timer.pk).cancelled is True
    services.task_complete(
        task_id=sign_off.pk,
        user=people["approver2"],
        data={"done": True},
        actor=Actor.for_user(people["approver2"]),
    )
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.COMPLETED
    assert instance.variables == {"amount": 1, "done": True}
