"""Expression escapes and resource bombs, end to end: each payload from the evaluator's corpus
(tests/engine_core/test_expressions.py, reused, not copied) is put where a designer can write an
expression — a gateway condition, an input mapping, a timer — and deployed through the API.

Escapes are refused at deploy (422 ``invalid_bpmn`` naming the problem); the file is kept as a
draft (by design, so the designer can fix it) and nothing is deployed or run. Resource bombs
written as literals pass the static check (it does not evaluate) and are stopped, within the
evaluator's limits, when the process starts: 422 ``start_failed`` naming the limit, at once,
and no instance is left behind.
"""

from __future__ import annotations

import time
from xml.sax.saxutils import escape

import pytest

from tests.engine_core.test_expressions import ESCAPES, EXHAUSTION
from tests.security.conftest import api_client
from tests.security.corpus import corpus, refused, unchanged

pytestmark = [pytest.mark.django_db, corpus("expressions via deploy")]

NS = (
    'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:flowgate="http://flowgate.dev/schema/bpmn/1.0"'
)


def gateway_condition(expression: str) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions {NS} id="D" targetNamespace="urn:t">
  <bpmn:process id="evil_expr" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:exclusiveGateway id="g" default="f3"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing><bpmn:outgoing>f3</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:endEvent id="e1"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="e2"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="g" />
    <bpmn:sequenceFlow id="f2" sourceRef="g" targetRef="e1">
      <bpmn:conditionExpression>{escape(expression)}</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f3" sourceRef="g" targetRef="e2" />
  </bpmn:process>
</bpmn:definitions>"""


def input_mapping(expression: str) -> str:
    quoted = escape(expression, {'"': "&quot;"})
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions {NS} id="D" targetNamespace="urn:t">
  <bpmn:process id="evil_expr" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="t" flowgate:connector="echo">
      <bpmn:extensionElements><flowgate:input name="v" expression="{quoted}" /></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t" />
    <bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e" />
  </bpmn:process>
</bpmn:definitions>"""


# XML 1.0 cannot carry a NUL character at all (that file is refused as malformed, elsewhere).
XML_SAFE_ESCAPES = [(source, message) for source, message in ESCAPES if "\x00" not in source]
# Resource bombs written as literals (the evaluator's corpus has more that need variables).
LITERAL_BOMBS = [
    ("9**9**9", "exponent too large (the limit is 64)"),
    ("2**100000", "exponent too large (the limit is 64)"),
    ("2**64**2", "exponent too large (the limit is 64)"),
    ("'a'*10**9", "this would create a text of 1,000,000,000 characters (the limit is 10,000)"),
    ("[1]*10**8", "this would create a list of 100,000,000 items (the limit is 10,000)"),
    ("'a'*1000*1000", "this would create a text of 1,000,000 characters (the limit is 10,000)"),
    ("[[1]*10000]*10000", "the list would be too large"),
    ("round(5, -10**9)", "round() digits must be between -64 and 64"),
]
assert all(bomb in EXHAUSTION for bomb in LITERAL_BOMBS)  # the same inputs as the evaluator's

GATEWAY_CASES = [
    pytest.param(src, msg, id=f"gateway-{i}") for i, (src, msg) in enumerate(XML_SAFE_ESCAPES)
]
MAPPING_CASES = [
    pytest.param(src, msg, id=f"mapping-{i}") for i, (src, msg) in enumerate(XML_SAFE_ESCAPES[:20])
]
BOMB_CASES = [
    pytest.param(place, src, msg, id=f"{place.__name__}-{i}")
    for i, (src, msg) in enumerate(LITERAL_BOMBS)
    for place in (gateway_condition, input_mapping)
]


def _deploy_refused(world, xml: str, message: str) -> None:
    client = api_client(world.people.dana)
    with unchanged(versions={"deployed": 2}, audit_events=..., audit_pending=..., definitions=...):
        response = client.post("/api/v1/processes/deploy/", {"xml": xml}, format="json")
    body = refused(response, 422, "invalid_bpmn")
    problems = " | ".join(p["message"] for p in body["details"])
    assert message in problems


@pytest.mark.parametrize(("source", "message"), GATEWAY_CASES)
def test_expression_escape_in_a_gateway_condition_is_refused(world, source, message):
    _deploy_refused(world, gateway_condition(source), message)


@pytest.mark.parametrize(("source", "message"), MAPPING_CASES)
def test_expression_escape_or_bomb_in_an_input_mapping_is_refused(world, source, message):
    _deploy_refused(world, input_mapping(source), message)


@pytest.mark.parametrize(("place", "source", "message"), BOMB_CASES)
def test_resource_bomb_stops_the_start_at_once_and_leaves_nothing(world, place, source, message):
    client = api_client(world.people.dana)
    deployed = client.post("/api/v1/processes/deploy/", {"xml": place(source)}, format="json")
    assert deployed.status_code == 201, deployed.content
    with unchanged():
        started_at = time.monotonic()
        response = client.post("/api/v1/instances/", {"process_key": "evil_expr"}, format="json")
        elapsed = time.monotonic() - started_at
    body = refused(response, 422, "start_failed")
    assert message in body["message"]
    assert elapsed < 2.0
