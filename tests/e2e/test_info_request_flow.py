"""“More information needed” in the browser: the approver sends the task back with a question,
the requester sees it on their pages and answers with a file, the task is back with the approver
and its SLA clock ran only while it was with the approver."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.common.actors import Actor
from apps.engine import services as engine_services
from apps.inbox.models import HumanTask
from apps.processes import services as process_services
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.embedded, pytest.mark.django_db(transaction=True)]
DEMO_BPMN = Path(__file__).resolve().parents[2] / "apps" / "processes" / "demo_bpmn"


def test_the_requester_answers_and_the_task_returns_to_the_approver(
    page, make_page, login_as, axe_check, tmp_path, settings
):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    result = process_services.version_deploy(
        xml=(DEMO_BPMN / "expense_approval.bpmn").read_bytes(), actor=Actor.system("test")
    )
    assert result.deployed, result.version.problems
    requester = UserFactory(username="requester", roles=["approver"])
    boss = UserFactory(username="boss", roles=["manager", "approver"])
    instance = engine_services.instance_start(
        process_key="expense_approval",
        variables={"amount": 2500, "description": "Conference ticket"},
        actor=Actor.for_user(requester),
        started_by=requester,
    )
    task = HumanTask.objects.get(instance=instance, status="open")
    breach = task.sla_breach_at

    # the approver asks (a double click sends one question)
    login_as(page, boss)
    page.goto(reverse("inbox:task", args=[task.pk]))
    page.get_by_text("More information needed (send back to the requester)").click()
    page.get_by_label("Your question to requester").fill("Which conference?")
    with page.expect_navigation():
        page.get_by_role("button", name="Send to the requester").dblclick()
    assert "the SLA clock is paused" in page.locator(".fg-messages").inner_text()
    assert "Which conference?" in page.get_by_test_id("waiting-on-requester").inner_text()
    assert axe_check(page) == []
    assert AuditEvent.objects.filter(action="task.info_requested", task_id=task.pk).count() == 1

    # the requester sees it in My requests and answers on the request page, with a file
    other = make_page()
    login_as(other, requester)
    other.goto(reverse("requests:list"))
    assert other.get_by_test_id("needs-answer").is_visible()
    other.goto(reverse("requests:detail", args=[instance.pk]))
    question = other.get_by_test_id("info-question")
    assert "Which conference?" in question.inner_text()
    assert axe_check(other) == []
    other.get_by_label("Your answer").fill("PyCon, receipt attached")
    receipt = tmp_path / "receipt.txt"
    receipt.write_text("PyCon ticket, 2500")
    other.get_by_label("Attach a file (optional)").set_input_files(str(receipt))
    with other.expect_navigation():
        other.get_by_role("button", name="Send answer").dblclick()
    assert "your answer went back" in other.locator(".fg-messages").inner_text()
    assert other.get_by_test_id("info-question").count() == 0
    assert "receipt.txt" in other.content()

    # back with the approver, its deadline moved by the pause
    task.refresh_from_db()
    assert task.status == "open" and task.assignee_id == boss.pk
    assert task.sla_breach_at > breach
    assert AuditEvent.objects.filter(action="task.info_provided", task_id=task.pk).count() == 1
    page.goto(reverse("inbox:list") + "?view=mine")
    page.locator(f'a[href="/inbox/tasks/{task.pk}/"]').first.wait_for(state="visible")
    assert page.js_errors == [] and other.js_errors == []
