"""Withdrawing a request cannot be undone, so the requester confirms it first (as the
operations console asks for its cancel)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse

from apps.common.actors import Actor
from apps.engine import services as engine_services
from apps.processes import services as process_services
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.embedded, pytest.mark.django_db(transaction=True)]
DEMO_BPMN = Path(__file__).resolve().parents[2] / "apps" / "processes" / "demo_bpmn"


def test_a_requester_confirms_before_the_request_is_withdrawn(page, login_as, axe_check):
    # given a running expense request
    result = process_services.version_deploy(
        xml=(DEMO_BPMN / "expense_approval.bpmn").read_bytes(), actor=Actor.system("test")
    )
    assert result.deployed, result.version.problems
    requester = UserFactory(username="requester", roles=["approver"])
    instance = engine_services.instance_start(
        process_key="expense_approval",
        variables={"amount": 2500, "description": "Conference ticket"},
        actor=Actor.for_user(requester),
        started_by=requester,
    )
    login_as(page, requester)
    page.goto(reverse("requests:detail", args=[instance.pk]))

    # when the requester clicks "Withdraw request" without confirming, nothing happens
    page.get_by_role("button", name="Withdraw request").click()
    page.wait_for_timeout(300)
    instance.refresh_from_db()
    assert instance.status == "running"
    assert page.get_by_label("Yes, withdraw this request (cannot be undone)").evaluate(
        "el => el.matches(':invalid')"
    )
    assert axe_check(page) == []

    # when they confirm, then the request is withdrawn
    page.get_by_label("Yes, withdraw this request (cannot be undone)").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Withdraw request").click()
    assert "Your request was withdrawn." in page.locator(".fg-messages").inner_text()
    instance.refresh_from_db()
    assert instance.status == "cancelled"
    assert page.js_errors == []
