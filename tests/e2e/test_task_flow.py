"""A user task with a form, worked in the browser against the real inbox and engine."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from apps.common.actors import Actor
from apps.engine import services as engine_services
from apps.inbox.models import HumanTask
from apps.processes import services as process_services
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

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
