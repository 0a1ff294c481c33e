"""Reassigning from the task page: a labelled picker of the people eligible for the task (no typed
user name), and the task moves to the one chosen."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from apps.common.actors import Actor
from apps.engine import services as engine_services
from apps.inbox.models import HumanTask
from apps.processes import services as process_services
from tests.factories import UserFactory
from tests.inbox.conftest import BPMN

pytestmark = [pytest.mark.e2e, pytest.mark.embedded, pytest.mark.django_db(transaction=True)]


def test_a_manager_reassigns_an_approval_to_someone_the_picker_offers(page, login_as, axe_check):
    result = process_services.version_deploy(
        xml=(BPMN / "expense.bpmn").read_bytes(), actor=Actor.system("test")
    )
    assert result.deployed, result.version.problems
    requester = UserFactory(username="rita", roles=["manager"])
    boss = UserFactory(username="boss", roles=["manager"])
    UserFactory(username="deputy", roles=["manager"])
    UserFactory(username="audrey", roles=["auditor"])
    UserFactory(username="nobody", roles=[])
    instance = engine_services.instance_start(
        process_key="expense_approval",
        variables={"amount": 2500, "description": "Desk"},
        actor=Actor.for_user(requester),
        started_by=requester,
    )
    task = HumanTask.objects.get(instance_id=instance.pk)

    login_as(page, boss)
    page.goto(reverse("inbox:task", args=[task.pk]))
    page.get_by_text("Reassign (moves it for good)").click()
    picker = page.get_by_label("Reassign to")
    expect(picker).to_be_visible()
    assert picker.evaluate("el => el.tagName") == "SELECT"
    offered = picker.locator("option").evaluate_all("os => os.map(o => o.value)")
    assert offered == ["", "deputy"]  # not the requester, the auditor, nobody, nor boss himself
    assert axe_check(page) == []

    picker.select_option("deputy")
    with page.expect_navigation():
        page.get_by_role("button", name="Reassign", exact=True).click()
    expect(page.get_by_text("Reassigned to deputy.")).to_be_visible()
    task.refresh_from_db()
    assert task.assignee.username == "deputy"
    assert page.js_errors == []
