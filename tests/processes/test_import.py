"""Importing files from Camunda Modeler 7 and 8: their settings become Flowgate settings, FEEL
of the common subset becomes Flowgate expressions, other condition languages are reported as
exactly that on their element, one problem per cause; never a 5xx, whatever the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.cache import cache
from lxml import etree
from rest_framework.test import APIClient

from apps.common.actors import Actor
from apps.processes import gallery
from apps.processes.importer import feel_to_expression
from apps.processes.services import bpmn_convert, bpmn_validate, version_deploy

HERE = Path(__file__).parent / "bpmn"
FG = "{http://flowgate.dev/schema/bpmn/1.0}"
B = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


def _node(xml: bytes, element_id: str):
    return etree.fromstring(xml).xpath("//*[@id=$i]", i=element_id)[0]


def _fg(node) -> dict:
    return {k.replace(FG, ""): v for k, v in node.attrib.items() if k.startswith(FG)}


@pytest.mark.parametrize(
    ("feel", "expected"),
    [
        ('=amount > 1000 and region = "EU"', 'amount > 1000 and region == "EU"'),
        ("= a != 1 or b >= 2 and c <= 3", "a != 1 or b >= 2 and c <= 3"),
        ("=not(approved)", "not(approved)"),
        ('=order.customer.tier = "gold"', "order['customer']['tier'] == \"gold\""),
        ('=list contains(tags, "vip")', 'contains(tags, "vip")'),
        ('=name = "a = b"', 'name == "a = b"'),
        ("=string length(code) > 3", "len(code) > 3"),
    ],
)
def test_feel_of_the_common_subset_becomes_a_flowgate_expression(feel, expected):
    assert feel_to_expression(feel) == (expected, None)


@pytest.mark.parametrize(
    ("feel", "why"),
    [
        ("=x between 1 and 10", "it uses 'between', which is full FEEL"),
        ("=some i in items satisfies i > 1", "quantified expressions"),
        ("=if a then b else c", "if/then/else"),
        ("=for i in items return i * 2", "'for' loops"),
        ('=date("2024-01-01") < today()', "date and time functions"),
    ],
)
def test_full_feel_is_named_not_reported_as_a_syntax_error(feel, why):
    expression, problem = feel_to_expression(feel)
    assert expression is None and why in problem


@pytest.mark.django_db
def test_a_camunda_7_file_maps_to_flowgate_settings_and_deploys():
    data = (HERE / "camunda7_invoice.bpmn").read_bytes()
    imported = bpmn_convert(xml=data)
    assert imported.problems == []
    approve = _node(imported.xml, "approve")
    assert _fg(approve) == {
        "candidateGroups": "approver",
        "candidateUsers": "carol",
        "assignee": "${initiator}",
        "dueDate": "P3D",
        "formKey": "approve-form",
    }
    assert not [k for k in approve.attrib if "camunda" in k]
    form = json.loads(approve.find(f"{B}extensionElements/{FG}form").text)
    assert form["components"] == [
        {"type": "number", "key": "amount", "label": "Amount", "validate": {"required": True}},
        {"type": "checkbox", "key": "approved", "label": "Approved?", "defaultValue": False},
        {
            "type": "select",
            "key": "category",
            "label": "Category",
            "values": [
                {"label": "Travel", "value": "travel"},
                {"label": "Office", "value": "office"},
            ],
        },
    ]
    book = _node(imported.xml, "book")
    assert _fg(book) == {"connector": "echo"}
    mappings = [
        (etree.QName(m).localname, m.get("name"), m.get("expression"))
        for m in book.find(f"{B}extensionElements")
    ]
    assert mappings == [
        ("input", "invoice_amount", "amount"),
        ("input", "ledger", "'main'"),
        ("output", "booked", "get(result, 'invoice_amount')"),
    ]
    assert b"camunda.org/schema/1.0/bpmn" not in imported.xml
    assert len(imported.mapped) == 10
    result = version_deploy(xml=data, actor=Actor.system("test"))
    assert result.deployed and 'flowgate:connector="echo"' in result.version.xml


@pytest.mark.django_db
def test_a_camunda_8_file_maps_and_reports_full_feel_once_on_its_flow():
    data = (HERE / "camunda8_order.bpmn").read_bytes()
    imported = bpmn_convert(xml=data)
    assert _fg(_node(imported.xml, "price")) == {"connector": "echo", "maxAttempts": "5"}
    assert _fg(_node(imported.xml, "review")) == {
        "assignee": "${owner}",
        "candidateGroups": "manager, approver",
        "dueDate": "P2D",
    }
    assert _fg(_node(imported.xml, "wait_payment")) == {"correlationKey": "order['id']"}
    condition = _node(imported.xml, "f_big").find(f"{B}conditionExpression").text
    assert condition == 'amount > 1000 and region == "EU"'
    problems = bpmn_validate(xml=data)
    assert problems == [
        {
            "element_id": "f_odd",
            "element_name": None,
            "element_type": "Path",
            "code": "unsupported_condition_language",
            "message": "The condition of 'f_odd' is FEEL beyond the common subset Flowgate runs "
            "(it uses quantified expressions (some/every ... satisfies), which is full FEEL): "
            "rewrite it as comparisons joined by and/or.",
        }
    ]
    refused = version_deploy(xml=data, actor=Actor.system("test")).version
    assert (refused.pk, [p["code"] for p in refused.problems]) == (
        None,
        ["unsupported_condition_language"],
    )


EXPENSE = gallery.template_get(slug="expense_approval").xml()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("old", "new", "language"),
    [
        (">amount &gt; 1000<", ' language="javascript">amount &gt; 1000<', "JavaScript"),
        (
            ">amount &gt; 1000<",
            ' language="http://www.w3.org/1999/XPath">amount &gt; 1000<',
            "XPath",
        ),
        (">amount &gt; 1000<", ' language="groovy">amount &gt; 1000<', "Groovy"),
    ],
)
def test_a_condition_in_another_language_is_reported_as_exactly_that(old, new, language):
    problems = bpmn_validate(xml=EXPENSE.replace(old, new))
    assert problems == [
        {
            "element_id": "f_high",
            "element_name": "amount > 1000",
            "element_type": "Path",
            "code": "unsupported_condition_language",
            "message": f"The condition of 'amount > 1000' is written in {language}, which "
            "Flowgate does not run: rewrite it as a Flowgate expression such as amount > 1000.",
        }
    ]


@pytest.mark.django_db
def test_juel_method_calls_are_one_problem_not_a_syntax_error():
    xml = EXPENSE.replace(">amount &gt; 1000<", '>${execution.getVariable("amount") &gt; 1000}<')
    assert [(p["element_id"], p["code"]) for p in bpmn_validate(xml=xml)] == [
        ("f_high", "unsupported_condition_language")
    ]


@pytest.mark.django_db
def test_a_non_executable_process_is_one_problem():
    xml = EXPENSE.replace('isExecutable="true"', 'isExecutable="false"')
    assert [(p["element_id"], p["code"]) for p in bpmn_validate(xml=xml)] == [
        ("expense_approval", "not_executable")
    ]


@pytest.mark.django_db
def test_a_flowgate_file_is_not_rewritten():
    imported = bpmn_convert(xml=EXPENSE)
    assert (imported.xml, imported.mapped, imported.problems) == (EXPENSE.encode(), [], [])


NO_DI = b"""<?xml version="1.0"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="x">
  <process id="generated" isExecutable="true">
    <startEvent id="s"/><userTask id="t" name="Do it"/><endEvent id="e"/>
    <sequenceFlow id="a" sourceRef="s" targetRef="t"/><sequenceFlow id="b" sourceRef="t" targetRef="e"/>
  </process>
</definitions>"""

WEIRD_FILES = [
    b"",
    b"   ",
    b"not xml at all",
    b"<x/>",
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>',
    b"<" + b"a>" * 200 + b"</a>" * 200,
    NO_DI,
    NO_DI.replace(b'isExecutable="true"', b""),
    NO_DI.replace(b"<startEvent", b"<scriptTask id='sc'/><startEvent"),
    NO_DI.replace(b'id="t"', b'id="Start"'),
    NO_DI.replace(b'targetRef="e"', b'targetRef="nowhere"'),
    NO_DI.replace(
        b'<userTask id="t" name="Do it"/>',
        b'<userTask id="t" xmlns:c="http://camunda.org/schema/1.0/bpmn" c:candidateGroups="${"/>',
    ),
    NO_DI.replace(
        b'<userTask id="t" name="Do it"/>',
        b'<serviceTask id="t"><extensionElements xmlns:z="http://camunda.org/schema/zeebe/1.0">'
        b'<z:taskDefinition type="=x" retries="many"/><z:ioMapping><z:input source="=a b" '
        b'target="x"/></z:ioMapping></extensionElements></serviceTask>',
    ),
    b'<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"><process/></definitions>',
    "<definitions xmlns='http://www.omg.org/spec/BPMN/20100524/MODEL'><process id='é'/>"
    "</definitions>".encode(),
]


@pytest.mark.django_db
@pytest.mark.parametrize("data", WEIRD_FILES)
def test_any_file_gets_a_4xx_or_an_answer_never_a_5xx(make_user, data):
    cache.clear()
    client = APIClient()
    client.force_authenticate(make_user("designer"))
    for url in ("import", "validate", "deploy"):
        response = client.post(
            f"/api/v1/processes/{url}/", {"xml": data.decode("utf-8")}, format="json"
        )
        assert response.status_code < 500, (url, response.content)
        assert response.status_code in (200, 201, 400, 422), (url, response.status_code)


@pytest.mark.django_db
def test_the_import_api_returns_the_mapped_file_and_what_to_fix(make_user):
    client = APIClient()
    client.force_authenticate(make_user("designer"))
    body = client.post(
        "/api/v1/processes/import/",
        {"xml": (HERE / "camunda8_order.bpmn").read_text()},
        format="json",
    ).json()
    assert body["has_diagram"] is False
    assert 'flowgate:connector="echo"' in body["xml"]
    assert {
        "element_id": "review",
        "message": "zeebe assignee '=owner' -> assignee '${owner}'",
    } in (body["mapped"])
    assert [(p["element_id"], p["code"]) for p in body["problems"]] == [
        ("f_odd", "unsupported_condition_language")
    ]
    no_di = client.post("/api/v1/processes/import/", {"xml": NO_DI.decode()}, format="json")
    assert [(p["element_id"], p["code"]) for p in no_di.json()["problems"]] == [
        ("t", "user_task_unassigned")
    ]
    refused = APIClient()
    refused.force_authenticate(make_user("approver"))
    denied = refused.post("/api/v1/processes/import/", {"xml": NO_DI.decode()}, format="json")
    assert denied.status_code == 403
