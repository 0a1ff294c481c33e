"""A user task with a form, worked in the browser against the real inbox and engine."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from apps.audit.models import AuditEvent
from apps.common.actors import Actor
from apps.engine import services as engine_services
from apps.engine.models import ProcessInstance
from apps.inbox import services as inbox_services
from apps.inbox.models import HumanTask
from apps.processes import services as process_services
from tests.engine.conftest import run_jobs
from tests.factories import UserFactory
from tests.inbox.conftest import BPMN

pytestmark = [pytest.mark.e2e, pytest.mark.embedded, pytest.mark.django_db(transaction=True)]

FORM = {
    "type": "default",
    "components": [
        {"type": "textfield", "key": "reason", "label": "Reason", "validate": {"required": True}},
        {"type": "number", "key": "amount", "label": "Amount"},
    ],
}

PROCESS = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:flowgate="http://flowgate.dev/schema/bpmn/1.0"
  id="Definitions_1" targetNamespace="http://flowgate.dev/bpmn">
  <bpmn:process id="expense" name="Expense" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Explain" name="Explain the expense" flowgate:candidateGroups="approver">
      <bpmn:extensionElements><flowgate:form>{json.dumps(FORM)}</flowgate:form></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="Done"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="StartEvent_1" targetRef="Explain" />
    <bpmn:sequenceFlow id="f2" sourceRef="Explain" targetRef="Done" />
  </bpmn:process>
</bpmn:definitions>"""


def test_an_approver_completes_a_form_task_in_the_browser(page, login_as, axe_check):
    designer = UserFactory(roles=["designer"])
    result = process_services.version_deploy(
        xml=PROCESS, actor=Actor.for_user(designer), user=designer
    )
    assert result.deployed, result.version.problems
    instance = engine_services.instance_start(
        process_key="expense", variables={"amount": 80}, actor=Actor.for_user(designer)
    )
    task = HumanTask.objects.get(instance_id=instance.pk)

    login_as(page, UserFactory(roles=["approver"]))
    page.goto(reverse("inbox:task", args=[task.pk]))
    page.get_by_label("Reason").wait_for()
    assert axe_check(page) == []

    page.get_by_role("button", name="Complete task").click()
    page.get_by_text("Field is required.").wait_for()
    page.get_by_label("Reason").fill("Team lunch")
    with page.expect_navigation():
        page.get_by_role("button", name="Complete task").click()

    assert urlsplit(page.url).path == "/inbox/"
    task.refresh_from_db()
    instance.refresh_from_db()
    assert task.status == "completed"
    assert instance.variables["reason"] == "Team lunch"
    assert page.js_errors == []


def test_the_servers_validation_errors_are_shown_on_their_fields(page, login_as):
    """A client that let a missing required field through (an older form, a tampered page):
    the server's 400 names the field, and the message appears at that field, not in a list."""
    designer = UserFactory(roles=["designer"])
    result = process_services.version_deploy(
        xml=PROCESS, actor=Actor.for_user(designer), user=designer
    )
    assert result.deployed, result.version.problems
    instance = engine_services.instance_start(
        process_key="expense", variables={"amount": 80}, actor=Actor.for_user(designer)
    )
    task = HumanTask.objects.get(instance_id=instance.pk)

    login_as(page, UserFactory(roles=["approver"]))
    page.goto(reverse("inbox:task", args=[task.pk]))
    page.get_by_label("Reason").wait_for()
    # the same form without its client-side "required": only the server can catch it now
    page.evaluate(
        """async (schema) => {
            await window.FlowgateTaskForm.importSchema(schema, {amount: 80});
        }""",
        {
            **FORM,
            "components": [
                {**FORM["components"][0], "validate": {}},
                FORM["components"][1],
                # the page's submit button is part of the form (forms/submit-button.js)
                {"type": "button", "action": "submit", "label": "Complete task"},
            ],
        },
    )
    with page.expect_response(lambda r: "/complete/" in r.url) as answer:
        page.get_by_role("button", name="Complete task").click()
    assert answer.value.status == 400

    field = page.locator(".fjs-form-field", has=page.get_by_label("Reason"))
    field.get_by_text("Reason is required.").wait_for()
    assert page.get_by_label("Reason").get_attribute("aria-invalid") == "true"
    status = page.locator(".fg-form-status")
    assert "Please correct 1 field(s) marked in the form." in status.inner_text()
    assert status.locator("li").count() == 0  # nothing left over to list under the form
    task.refresh_from_db()
    assert task.status == "open"
    assert page.js_errors == []


TWO_GATES = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:flowgate="http://flowgate.dev/schema/bpmn/1.0" id="D2" targetNamespace="http://flowgate.dev/t">
  <bpmn:process id="two_gates" name="Two gates" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="gate_one" name="Manager gate" flowgate:candidateGroups="manager"
                   flowgate:approval="true" flowgate:commentRequiredOnReject="true">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:userTask id="gate_two" name="Finance gate" flowgate:candidateGroups="approver"
                   flowgate:approval="true">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="e"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="gate_one" />
    <bpmn:sequenceFlow id="f2" sourceRef="gate_one" targetRef="gate_two" />
    <bpmn:sequenceFlow id="f3" sourceRef="gate_two" targetRef="e" />
  </bpmn:process>
</bpmn:definitions>"""


def test_live_inbox_approval_and_the_next_task_appears_elsewhere(
    page, make_page, login_as, axe_check
):
    result = process_services.version_deploy(xml=TWO_GATES, actor=Actor.system("test"))
    assert result.deployed, result.version.problems
    requester = UserFactory(username="req", roles=["approver"])
    boss = UserFactory(username="boss", roles=["manager"])
    finance = UserFactory(username="fin", roles=["approver"])

    login_as(page, boss)
    page.goto("/inbox/")
    page.get_by_text("No tasks here").wait_for()
    other = make_page()
    login_as(other, finance)
    other.goto("/inbox/")
    other.get_by_text("No tasks here").wait_for()

    instance = engine_services.instance_start(
        process_key="two_gates", variables={}, actor=Actor.for_user(requester), started_by=requester
    )
    # No reload: the boss's open inbox shows the new task by itself.
    page.get_by_role("link", name="Manager gate").wait_for(timeout=10_000)
    assert axe_check(page) == []
    page.get_by_role("link", name="Manager gate").click()
    page.get_by_role("button", name="Reject").click()
    page.get_by_text("A comment is required to reject.").wait_for()
    assert page.get_by_label("Comment (required to reject)").get_attribute("aria-invalid") == "true"
    assert HumanTask.objects.get(instance=instance).status == "open"
    with page.expect_navigation():
        page.get_by_role("button", name="Approve").click()
    page.get_by_text("Approved.").wait_for()

    # The finance approver's inbox, open all along, shows the next gate without a reload.
    other.get_by_role("link", name="Finance gate").wait_for(timeout=10_000)
    # the badges follow the list (fetched right after it)
    expect(other.locator("[data-count=all]")).to_have_text(re.compile(r"^1\b"), timeout=5_000)
    assert page.js_errors == [] and other.js_errors == []


def test_a_requester_starts_from_the_catalog_and_follows_to_completion(page, login_as, axe_check):
    result = process_services.version_deploy(
        xml=(BPMN / "expense.bpmn").read_bytes(), actor=Actor.system("test")
    )
    assert result.deployed, result.version.problems
    requester = UserFactory(username="requester", roles=["approver"])
    boss = UserFactory(username="boss", roles=["manager"])

    login_as(page, requester)
    page.goto("/requests/new/")
    page.get_by_label("Search the catalog").fill("expense")
    with page.expect_navigation():
        page.get_by_role("button", name="Search").click()
    page.get_by_role("heading", name="Finance").wait_for()
    assert axe_check(page) == []
    page.get_by_role("link", name="Start Expense approval").click()
    page.get_by_label("Amount").wait_for()
    page.get_by_label("Amount").fill("2500")
    page.get_by_label("Description").fill("Conference ticket")
    button = page.get_by_role("button", name="Submit request")
    with page.expect_navigation(url="**/requests/*/"):
        button.dblclick()  # a double click still starts one request
    instance = ProcessInstance.objects.get()
    assert urlsplit(page.url).path == f"/requests/{instance.pk}/"
    assert instance.variables == {"amount": 2500, "description": "Conference ticket"}
    page.get_by_test_id("current-step").get_by_text("Approve expense — with manager").wait_for()
    assert axe_check(page) == []

    task = HumanTask.objects.get(instance=instance)
    inbox_services.task_complete(
        task_id=task.pk, user=boss, data={"approved": True}, actor=Actor.for_user(boss)
    )
    run_jobs(instance)
    page.get_by_test_id("request-status").get_by_text("Completed").wait_for(timeout=15_000)
    assert page.js_errors == []


def test_an_absent_approvers_substitute_gets_and_decides_the_task(page, make_page, login_as):
    result = process_services.version_deploy(
        xml=(BPMN / "expense.bpmn").read_bytes(), actor=Actor.system("test")
    )
    assert result.deployed, result.version.problems
    requester = UserFactory(username="requester", roles=["approver"])
    boss = UserFactory(username="boss", roles=["manager"])
    # a substitute stands in only where they may hold the task themselves: a manager here
    standin = UserFactory(username="standin", roles=["manager"])

    login_as(page, boss)
    page.goto("/inbox/settings/")
    page.get_by_label("Substitute (username)").fill("standin")
    page.get_by_label("From").fill("2020-01-01T08:00")
    page.get_by_label("Until").fill("2099-01-01T08:00")
    with page.expect_navigation():
        page.get_by_role("button", name="Set substitute").click()
    page.get_by_text("Your substitute is set.").wait_for()

    other = make_page()
    login_as(other, standin)
    other.goto("/inbox/")
    instance = engine_services.instance_start(
        process_key="expense_approval",
        variables={"amount": 4000, "description": "Flights"},
        actor=Actor.for_user(requester),
        started_by=requester,
    )
    other.get_by_text("for boss").wait_for(timeout=10_000)
    other.get_by_role("link", name="Approve expense").click()
    other.get_by_text("standing in for boss").wait_for()
    with other.expect_navigation():
        other.get_by_role("button", name="Approve").click()
    task = HumanTask.objects.get(instance=instance)
    assert (task.status, task.completed_by_id) == ("completed", standin.pk)
    event = AuditEvent.objects.get(action="task.approved", task_id=task.pk)
    assert (event.actor_label, event.on_behalf_of) == ("standin", "boss")
