"""Model rules read from the BPMN: the four-eyes attribute as the designer and the demo write it."""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.common.actors import Actor
from apps.common.errors import AccessDenied
from apps.engine.core.xml import parse_xml
from apps.inbox import services
from apps.inbox.model_rules import _task_rules
from apps.processes import services as process_services
from tests.inbox.conftest import open_task, start

pytestmark = pytest.mark.django_db(transaction=True)

DEMO_BPMN = Path(__file__).resolve().parents[2] / "apps" / "processes" / "demo_bpmn"


def _user_task(four_eyes: str | None):
    attribute = "" if four_eyes is None else f' flowgate:fourEyes="{four_eyes}"'
    xml = (
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"'
        ' xmlns:flowgate="http://flowgate.dev/schema/bpmn/1.0">'
        f'<bpmn:userTask id="t" flowgate:approval="true"{attribute}/></bpmn:definitions>'
    )
    return parse_xml(xml.encode()).find("{http://www.omg.org/spec/BPMN/20100524/MODEL}userTask")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, True),
        ("requester", True),
        ("true", True),
        ("false", False),
        ("no", False),
        ("0", False),
    ],
)
def test_only_an_explicit_false_turns_four_eyes_off(value, expected):
    assert _task_rules(_user_task(value)).four_eyes is expected


def test_the_demo_expense_model_keeps_the_requester_from_approving(people):
    # given the demo expense model as bootstrap_demo deploys it (fourEyes="requester")
    xml = (DEMO_BPMN / "expense_approval.bpmn").read_bytes()
    result = process_services.version_deploy(xml=xml, actor=Actor.system("test"))
    assert result.deployed, result.version.problems
    boss = people["manager"]
    instance = start("expense_approval", boss, amount=5000, description="Own trip")
    task = open_task(instance, "manager_approval")
    assert task.requested_by_id == boss.pk
    # when the manager who started it approves, then four-eyes refuses and nothing changes
    with pytest.raises(AccessDenied) as caught:
        services.task_complete(
            task_id=task.pk, user=boss, data={"approved": True}, actor=Actor.for_user(boss)
        )
    assert caught.value.code == "four_eyes"
    task.refresh_from_db()
    assert (task.status, task.completed_by_id) == ("open", None)


def test_the_backfill_protects_open_approvals_made_while_the_rule_was_misread(deploy_inbox, people):
    """Migration 0005: open approval tasks made before the fix (no ``requested_by``) get their
    requester named, unless the model turns four-eyes off; completed tasks stay history."""
    from importlib import import_module

    from django.apps import apps as django_apps

    from apps.inbox.models import HumanTask

    backfill = import_module("apps.inbox.migrations.0005_four_eyes_backfill").backfill
    xml = (DEMO_BPMN / "expense_approval.bpmn").read_bytes()
    assert process_services.version_deploy(xml=xml, actor=Actor.system("test")).deployed
    boss = people["manager"]
    misread = open_task(start("expense_approval", boss, amount=5000, description="Trip"))
    done = open_task(start("expense_approval", boss, amount=6000, description="Fair"))
    HumanTask.objects.filter(pk__in=[misread.pk, done.pk]).update(requested_by=None)
    HumanTask.objects.filter(pk=done.pk).update(status="completed")
    # a model that turns the rule off explicitly keeps it off
    off_xml = xml.replace(b'flowgate:fourEyes="requester"', b'flowgate:fourEyes="false"')
    off_xml = off_xml.replace(b'id="expense_approval"', b'id="expense_no_four_eyes"')
    assert process_services.version_deploy(xml=off_xml, actor=Actor.system("test")).deployed
    off = open_task(start("expense_no_four_eyes", boss, amount=5000, description="Own"))
    assert off.requested_by_id is None

    backfill(django_apps, None)

    requested = dict(
        HumanTask.objects.filter(pk__in=[misread.pk, done.pk, off.pk]).values_list(
            "pk", "requested_by_id"
        )
    )
    assert requested == {misread.pk: boss.pk, done.pk: None, off.pk: None}
    with pytest.raises(AccessDenied):
        services.task_complete(
            task_id=misread.pk, user=boss, data={"approved": True}, actor=Actor.for_user(boss)
        )
