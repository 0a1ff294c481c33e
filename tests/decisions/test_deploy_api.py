"""Deploying DMN files through the process deploy endpoint and upload (recognised by content),
versions per decision key, listing, evaluating through the API; access per role."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from apps.audit.models import AuditEvent
from apps.common.actors import Actor
from apps.common.errors import InvalidInput, Unprocessable
from apps.processes.decisions import dmn_deploy, is_dmn_file
from apps.processes.models import DecisionVersion, DmnDeployment
from tests.engine_core.dmn.support import dmn_file, table_dmn

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")
APPROVAL = dmn_file("approval.dmn")


def _client(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def _deploy(client, xml: bytes, **extra):
    return client.post(reverse("api-process-deploy"), {"xml": xml.decode(), **extra}, format="json")


def test_a_dmn_file_is_recognised_by_content():
    assert is_dmn_file(APPROVAL)
    assert not is_dmn_file(b'<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"/>')
    assert not is_dmn_file(b"<!DOCTYPE x><definitions DMN")


def test_deploy_creates_a_version_per_decision_and_an_unchanged_file_none(make_user):
    designer = make_user("designer", username="dana")
    response = _deploy(_client(designer), APPROVAL, comment="first rules")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "dmn"
    assert body["definitions_key"] == "approval_rules"
    assert [(d["key"], d["number"], d["kind"], d["hit_policy"]) for d in body["decisions"]] == [
        ("approval_level", 1, "table", "FIRST"),
        ("risk_class", 1, "table", "UNIQUE"),
        ("greeting", 1, "literal", ""),
    ]
    assert body["decisions"][0]["created_by"] == "dana"
    again = _deploy(_client(designer), APPROVAL)
    assert again.status_code == 200
    assert DecisionVersion.objects.count() == 3
    changed = APPROVAL.replace(b'"team_lead"', b'"lead"')
    third = _deploy(_client(designer), changed)
    assert third.status_code == 201
    assert [d["number"] for d in third.json()["decisions"]] == [2, 2, 2]
    event = AuditEvent.objects.filter(action="decision.deployed").order_by("-position").first()
    assert event.process_key == "approval_rules"
    assert event.data["decisions"] == {"approval_level": 2, "risk_class": 2, "greeting": 2}
    assert event.data["dmn_version"] == "1.3"


def test_list_and_versions(make_user):
    dmn_deploy(xml=APPROVAL, actor=SYSTEM)
    dmn_deploy(xml=APPROVAL.replace(b'"cfo"', b'"chief"'), actor=SYSTEM)
    auditor = _client(make_user("auditor"))
    listed = auditor.get(reverse("api-decisions"))
    assert listed.status_code == 200
    rows = {r["key"]: (r["latest_number"], r["version_count"]) for r in listed.json()}
    assert rows == {"approval_level": (2, 2), "greeting": (2, 2), "risk_class": (2, 2)}
    versions = auditor.get(reverse("api-decision-versions", args=["approval_level"]))
    assert [v["number"] for v in versions.json()] == [2, 1]
    missing = auditor.get(reverse("api-decision-versions", args=["nope"]))
    assert missing.status_code == 404
    assert missing.json()["error"] == "decision_not_found"


@pytest.mark.parametrize(
    ("xml", "status", "code"),
    [
        (b"<definitions xmlns='https://www.omg.org/spec/DMN/20191111/MODEL/'><decision", 400, None),
        (
            table_dmn(inputs=[("x", None)], outputs=["y"], rules=[(["[1.."], ['"a"'])]),
            422,
            "invalid_dmn",
        ),
        (
            table_dmn(inputs=[("x", None)], outputs=["y"], rules=[], hit_policy="SOMETIMES"),
            422,
            "invalid_dmn",
        ),
        (
            b'<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="a b">'
            b'<decision id="d"><literalExpression><text>1</text></literalExpression></decision>'
            b"</definitions>",
            422,
            "invalid_dmn",
        ),
    ],
)
def test_a_broken_dmn_file_is_a_specific_4xx_and_stores_nothing(make_user, xml, status, code):
    response = _deploy(_client(make_user("designer")), xml)
    assert response.status_code in (400, 422) if status == 400 else response.status_code == status
    if code:
        assert response.json()["error"] == code
        assert response.json()["details"][0]["message"]
    assert DmnDeployment.objects.count() == 0
    assert DecisionVersion.objects.count() == 0


def test_a_cell_problem_is_named_by_rule_and_column(make_user):
    xml = table_dmn(inputs=[("x", None)], outputs=["y"], rules=[(["-"], ["for a in b return a"])])
    response = _deploy(_client(make_user("designer")), xml)
    detail = response.json()["details"][0]
    assert detail["element_id"] == "r1"
    assert detail["code"] == "bad_feel"
    assert detail["message"].startswith("Decision 'd', rule 1, output 'y'")


def test_the_service_refuses_unsafe_and_broken_files():
    with pytest.raises(InvalidInput):
        dmn_deploy(xml=b'<!DOCTYPE d [<!ENTITY a "b">]><definitions/>', actor=SYSTEM)
    with pytest.raises(Unprocessable) as caught:
        dmn_deploy(xml=table_dmn(inputs=[], outputs=[], rules=[]), actor=SYSTEM)
    assert caught.value.details[0]["code"] == "no_outputs"


def test_deploy_needs_a_designer(make_user):
    for client in (_client(), _client(make_user("approver"))):
        response = _deploy(client, APPROVAL)
        assert response.status_code in (401, 403)
    assert DecisionVersion.objects.count() == 0


def test_reading_needs_a_designer_auditor_or_admin(make_user):
    dmn_deploy(xml=APPROVAL, actor=SYSTEM)
    assert _client().get(reverse("api-decisions")).status_code in (401, 403)
    assert _client(make_user("approver")).get(reverse("api-decisions")).status_code == 403


def test_evaluate_through_the_api(make_user):
    dmn_deploy(xml=APPROVAL, actor=SYSTEM)
    client = _client(make_user("designer"))
    url = reverse("api-decision-evaluate", args=["approval_level"])
    response = client.post(url, {"variables": {"amount": 500, "country": "US"}}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["result"] == {"approver": "cfo", "reason": "over 100k or high risk"}
    assert body["decision"] == {"id": "approval_level", "name": "Approval level", "version": 1}
    assert [r["id"] for r in body["matched_rules"]] == ["Rule_cfo"]
    event = AuditEvent.objects.filter(action="decision.evaluated").get()
    assert event.data["matched_rule_ids"] == ["Rule_cfo"]
    assert event.data["source"] == "api"


def test_evaluate_a_named_version_and_bad_inputs(make_user):
    dmn_deploy(xml=APPROVAL, actor=SYSTEM)
    dmn_deploy(xml=APPROVAL.replace(b'"cfo"', b'"chief"'), actor=SYSTEM)
    client = _client(make_user("designer"))
    url = reverse("api-decision-evaluate", args=["approval_level"])
    variables = {"amount": 500, "country": "US"}
    v1 = client.post(url, {"variables": variables, "version": 1}, format="json")
    assert v1.json()["result"]["approver"] == "cfo"
    latest = client.post(url, {"variables": variables}, format="json")
    assert latest.json()["result"]["approver"] == "chief"
    bad = client.post(url, {"variables": {"amount": "lots", "country": "US"}}, format="json")
    assert bad.status_code == 422
    assert bad.json()["error"] == "input_type"
    assert "input 'Amount' must be a number" in bad.json()["message"]
    missing = client.post(url, {"variables": variables, "version": 9}, format="json")
    assert missing.status_code == 404
    unknown = client.post(
        reverse("api-decision-evaluate", args=["nope"]), {"variables": {}}, format="json"
    )
    assert unknown.status_code == 404
    refused = _client(make_user("auditor")).post(url, {"variables": variables}, format="json")
    assert refused.status_code == 403


def test_the_designer_upload_takes_a_dmn_file(make_user, client):
    client.force_login(make_user("designer"))
    upload = SimpleUploadedFile("rules.dmn", APPROVAL, content_type="application/xml")
    response = client.post(reverse("designer:upload"), {"file": upload}, follow=True)
    assert response.status_code == 200
    assert "Deployed decisions: approval_level version 1" in response.content.decode()
    assert DecisionVersion.objects.count() == 3


def test_a_unique_overlap_deploys_with_a_warning(make_user):
    xml = table_dmn(
        inputs=[("x", "number")],
        outputs=["y"],
        rules=[(["<= 10"], ['"a"']), ([">= 10"], ['"b"'])],
    )
    response = _deploy(_client(make_user("designer")), xml)
    assert response.status_code == 201
    assert response.json()["warnings"] == [
        {
            "element_id": "r2",
            "code": "unique_overlap_possible",
            "message": "Decision 'd' (UNIQUE): rules 1 and 2 can match the same inputs; an "
            "evaluation that hits both fails. Narrow one of them or choose another hit policy "
            "(FIRST, PRIORITY).",
        }
    ]


def test_validate_takes_a_dmn_file_too(make_user):
    client = _client(make_user("designer"))
    url = reverse("api-process-validate")
    good = client.post(url, {"xml": APPROVAL.decode()}, format="json").json()
    assert good == {"valid": True, "problems": [], "warnings": []}
    broken = table_dmn(inputs=[("x", None)], outputs=["y"], rules=[(["[1.."], ['"a"'])])
    bad = client.post(url, {"xml": broken.decode()}, format="json").json()
    assert bad["valid"] is False
    assert [(p["element_id"], p["code"]) for p in bad["problems"]] == [("r1", "bad_feel")]
    assert DmnDeployment.objects.count() == 0
