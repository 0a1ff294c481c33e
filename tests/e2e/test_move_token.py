"""Moving a token in the browser (issue #21, instance modification): from the console's instance
page, choose the active element and any later step, type the reason, read the preview (what is
cancelled, what is started; nothing changed yet), confirm, and land back on the instance with the
new wait and the audit event."""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.audit.models import AuditEvent
from apps.common.actors import Actor
from apps.engine import services as engine_services
from apps.engine.models import Job, ProcessInstance
from apps.inbox.models import HumanTask, TaskStatus
from apps.processes import services as process_services
from tests.factories import UserFactory

BPMN = Path(__file__).resolve().parents[1] / "engine" / "bpmn" / "move_token.bpmn"

pytestmark = [pytest.mark.e2e, pytest.mark.embedded, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def instance():
    result = process_services.version_deploy(xml=BPMN.read_bytes(), actor=Actor.system("test"))
    assert result.deployed, result.version.problems
    return engine_services.instance_start(
        version=result.version, variables={"days": 2, "order_id": "A1"}, actor=Actor.system("t")
    )


def test_an_operator_previews_and_moves_a_token_forward(page, login_as, axe_check, instance):
    login_as(page, UserFactory(roles=["manager"]))
    page.goto(f"/admin-reports/instances/{instance.pk}/")
    form = page.get_by_test_id("move-token-form")
    assert form.get_by_label("Move the token from").input_value() == "review"
    form.get_by_label("to", exact=True).select_option("book")
    form.get_by_label("Reason").fill("booked by phone")
    with page.expect_navigation():
        form.get_by_role("button", name="Preview move").click()

    preview = page.get_by_test_id("move-preview")
    assert "Preview: nothing was changed yet" in preview.inner_text()
    cancelled = page.get_by_test_id("move-cancelled").inner_text()
    assert "inbox task review" in cancelled and "timer remind" in cancelled
    assert page.get_by_test_id("move-started").inner_text() == "job book · echo"
    assert HumanTask.objects.get(instance=instance).status == TaskStatus.OPEN
    assert axe_check(page) == []

    # the confirmation is required by the browser before anything moves
    page.get_by_role("button", name="Move token").click()
    assert page.evaluate("() => document.getElementById('m-confirm').validity.valueMissing")
    page.get_by_label("Confirm: move the token as shown").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Move token").click()

    assert page.url.endswith(f"/admin-reports/instances/{instance.pk}/")
    assert "The token moved from review to book; now waiting at: book." in page.inner_text(
        ".fg-messages"
    )
    assert HumanTask.objects.get(instance=instance).status == TaskStatus.CANCELLED
    assert Job.objects.get(instance=instance, activity_id="book").status == "pending"
    event = AuditEvent.objects.get(action="instance.token_moved")
    assert event.data["reason"] == "booked by phone"
    assert "instance.token_moved" in page.get_by_test_id("audit-timeline").inner_text()
    assert page.js_errors == []


def test_a_refused_target_is_explained_on_the_page(page, login_as, instance):
    login_as(page, UserFactory(roles=["admin"]))
    page.goto(
        f"/admin-reports/instances/{instance.pk}/move-token/?source=review&target=zz&reason=x"
    )
    assert "Select a valid choice" in page.get_by_test_id("move-errors").inner_text()
    page.goto(
        f"/admin-reports/instances/{instance.pk}/move-token/?source=review&target=done&reason=x"
    )
    assert "nothing (the instance ends)" in page.get_by_test_id("move-summary").inner_text()
    assert ProcessInstance.objects.get(pk=instance.pk).status == "running"
