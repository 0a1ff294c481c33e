"""Problems as a business user reads them: the element's name (its id apart), what to do in the
words of the properties panel, no file vocabulary, each fact once; the import's problems are
exactly Validate's."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from apps.processes.labels import element_type_label, event_label, property_label
from apps.processes.problems import problems_for_people
from apps.processes.services import bpmn_validate

pytestmark = pytest.mark.django_db
HERE = Path(__file__).parent / "bpmn"

BROKEN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="x">
  <bpmn:process id="invoice" name="Invoice" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="send"/>
    <bpmn:serviceTask id="send" name="Send invoice" camunda:type="external"/>
    <bpmn:sequenceFlow id="f2" sourceRef="send" targetRef="big"/>
    <bpmn:exclusiveGateway id="big" name="Large amount?"/>
    <bpmn:sequenceFlow id="f_yes" name="yes" sourceRef="big" targetRef="approve">
      <bpmn:conditionExpression>amount &gt; 1000</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_no" name="no" sourceRef="big" targetRef="e"/>
    <bpmn:userTask id="approve" name="Approve invoice"/>
    <bpmn:sequenceFlow id="f3" sourceRef="approve" targetRef="e"/>
    <bpmn:endEvent id="e"/>
  </bpmn:process>
</bpmn:definitions>"""


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


def test_problems_name_the_element_and_say_what_to_do_without_engine_words():
    problems = bpmn_validate(xml=BROKEN)
    assert problems == [
        {
            "element_id": "send",
            "element_name": "Send invoice",
            "element_type": "Service task",
            "code": "service_task_without_connector",
            "message": "Service task “Send invoice” does not say what it does: pick a connector "
            "under Connector in the properties panel.",
        },
        {
            "element_id": "big",
            "element_name": "Large amount?",
            "element_type": "Decision",
            "code": "gateway_flow_without_condition",
            "message": "Decision “Large amount?”: the path “no” has no condition and is not the "
            "default path: add a condition to it, or make it the default path.",
            "related_id": "f_no",
        },
        {
            "element_id": "approve",
            "element_name": "Approve invoice",
            "element_type": "User task",
            "code": "user_task_unassigned",
            "message": "Nobody would get user task “Approve invoice”: choose the roles or people "
            "who may do it under People in the properties panel (or put it in a lane named "
            "after a role).",
        },
    ]
    text = " ".join(p["message"] for p in problems)
    for word in ("flowgate:", "camunda:", 'type="external"', "'send'", "'f_no'"):
        assert word not in text


def test_one_fact_found_by_two_checks_is_said_once():
    twice = [
        {"element_id": "send", "code": "unknown_connector", "message": "No connector 'x'."},
        {"element_id": "send", "code": "unknown_connector", "message": "There is no connector x."},
        {"element_id": "send", "code": "bad_max_attempts", "message": "No connector 'x'."},
        {"element_id": None, "code": "schema", "message": 'Line 3: bpmn:task flowgate:x="1"'},
    ]
    assert problems_for_people(twice, BROKEN) == [
        {
            "element_id": "send",
            "element_name": "Send invoice",
            "element_type": "Service task",
            "code": "unknown_connector",
            "message": "No connector 'x'.",
        },
        {
            "element_id": None,
            "element_name": None,
            "element_type": None,
            "code": "schema",
            "message": 'Line 3: task x="1"',
        },
    ]


C8_DROPPED = (
    (HERE / "camunda8_order.bpmn")
    .read_text()
    .replace('assignee="=owner"', 'assignee="=some x in owners satisfies x.active"')
)


def test_import_and_validate_give_the_same_problems(make_user):
    """The import listed a setting it dropped as a problem to fix; Validate, which reads the
    imported diagram, then found none. The import's problems are now Validate's, and what
    could not be carried over is listed apart."""
    client = APIClient()
    client.force_authenticate(make_user("designer"))
    body = client.post("/api/v1/processes/import/", {"xml": C8_DROPPED}, format="json").json()
    validated = client.post(
        "/api/v1/processes/validate/", {"xml": body["xml"]}, format="json"
    ).json()
    assert body["problems"] == validated["problems"]
    assert [(p["element_id"], p["code"]) for p in body["problems"]] == [
        ("f_odd", "unsupported_condition_language")
    ]
    assert [(p["element_id"], p["element_name"], p["code"]) for p in body["not_imported"]] == [
        ("review", "Review order", "unsupported_feel")
    ]


def test_settings_and_events_have_the_words_people_read():
    assert property_label("flowgate:candidateGroups") == "Roles who may do it"
    assert property_label("flowgate:input 'amount'") == "Input 'amount'"
    assert property_label("camunda:asyncBefore") == "Async before"
    assert element_type_label("exclusiveGateway") == "Decision"
    assert event_label("task.created") == "Task created"
    assert event_label("process.draft_saved") == "Deploy refused: kept as a draft"
    assert event_label("incident.retried") == "Incident retried"
