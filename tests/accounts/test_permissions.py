"""apps.accounts.permissions: grants in bulk mean the same as grants one by one."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from guardian.models import GroupObjectPermission, UserObjectPermission

from apps.accounts import permissions
from apps.accounts.roles import PERM_VIEW_INSTANCE, PERM_VIEW_TASK, PERM_WORK_TASK
from apps.common.actors import Actor
from apps.engine import services as engine
from apps.inbox.models import HumanTask
from apps.processes.services import version_deploy
from tests.inbox.conftest import BPMN


@pytest.fixture
def task(db, make_user):
    result = version_deploy(xml=(BPMN / "two_step.bpmn").read_bytes(), actor=Actor.system("t"))
    assert result.deployed, result.version.problems
    buyer = make_user("manager", username="buyer")  # 'purchase' is started by managers only
    instance = engine.instance_start(
        process_key="purchase",
        variables={"cost_owner": "x"},
        actor=Actor.for_user(buyer),
        started_by=buyer,
    )
    return HumanTask.objects.get(instance=instance, status="open")


def test_grant_many_gives_what_grant_gives_and_keeps_existing_grants(task, make_user):
    outsider = make_user(username="newcomer")
    access = [(PERM_VIEW_TASK, task), (PERM_WORK_TASK, task), (PERM_VIEW_INSTANCE, task.instance)]
    assert not permissions.can(outsider, PERM_WORK_TASK, task)

    permissions.grant(PERM_VIEW_TASK, obj=task, user=outsider)  # one of them exists already
    permissions.grant_many(access, user=outsider)
    permissions.grant_many(access, user=outsider)  # twice: nothing doubles

    outsider = type(outsider).objects.get(pk=outsider.pk)  # a fresh permission cache
    assert permissions.can(outsider, PERM_WORK_TASK, task)
    assert permissions.can(outsider, PERM_VIEW_INSTANCE, task.instance)
    assert UserObjectPermission.objects.filter(user=outsider).count() == 3

    permissions.grant_many(access, role="auditors-of-purchase")
    group = Group.objects.get(name="auditors-of-purchase")
    assert GroupObjectPermission.objects.filter(group=group).count() == 3
    member = make_user(username="member")
    member.groups.add(group)
    member = type(member).objects.get(pk=member.pk)
    assert permissions.can(member, PERM_WORK_TASK, task)


def test_grant_many_refuses_a_permission_of_another_model(task, make_user):
    with pytest.raises(ValueError, match="No permission"):
        permissions.grant_many([(PERM_WORK_TASK, task.instance)], user=make_user())
