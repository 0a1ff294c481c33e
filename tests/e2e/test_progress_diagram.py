"""The read-only progress diagram on the task and request pages, once bpmn-js has drawn it:
no serious accessibility violation (the viewer brings a link, so it sits in a figure, not in
an element with role="img")."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse

from apps.common.actors import Actor
from apps.engine import services as engine_services
from apps.inbox.models import HumanTask
from apps.processes import services as process_services
from tests.factories import UserFactory

DEMO_BPMN = Path(__file__).resolve().parents[2] / "apps" / "processes" / "demo_bpmn"

pytestmark = [pytest.mark.e2e, pytest.mark.embedded, pytest.mark.django_db(transaction=True)]


def test_the_drawn_diagram_passes_axe_on_the_task_and_request_pages(page, login_as, axe_check):
    # the demo model: it carries a drawn diagram (BPMN DI)
    result = process_services.version_deploy(
        xml=(DEMO_BPMN / "expense_approval.bpmn").read_bytes(), actor=Actor.system("test")
    )
    assert result.deployed, result.version.problems
    requester = UserFactory(username="requester", roles=["approver"])
    boss = UserFactory(username="boss", roles=["manager"])
    instance = engine_services.instance_start(
        process_key="expense_approval",
        variables={"amount": 2500, "description": "Conference ticket"},
        actor=Actor.for_user(requester),
        started_by=requester,
    )
    task = HumanTask.objects.get(instance=instance)

    login_as(page, boss)
    page.goto(reverse("inbox:task", args=[task.pk]))
    page.wait_for_selector(".fg-diagram[data-ready='true']")
    assert axe_check(page) == []

    page.context.clear_cookies()
    login_as(page, requester)
    page.goto(reverse("requests:detail", args=[instance.pk]))
    page.wait_for_selector(".fg-diagram[data-ready='true']")
    assert axe_check(page) == []
    assert page.js_errors == []
