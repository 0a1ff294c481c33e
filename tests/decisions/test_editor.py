"""The decision editor's server side: the pages (new, edit; designers and admins only), the
*Check* answer (problems by rule and column, warnings), and *Try it* as a dry run."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from apps.audit.models import AuditEvent
from apps.common.actors import Actor
from apps.processes.decisions import decision_blank_xml, dmn_deploy
from apps.processes.models import DecisionVersion
from tests.engine_core.dmn.support import dmn_file

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_check_names_the_unreadable_cell_and_warns_about_overlaps_and_gaps(make_user):
    api = _api(make_user("designer"))
    blank = decision_blank_xml(key="discount", name="Discount")

    broken = api.post(
        "/api/v1/processes/validate/",
        {"xml": blank.replace("&lt; 1000", "[1..")},
        format="json",
    ).json()
    assert broken["valid"] is False
    assert [p["message"] for p in broken["problems"]] == [
        "Decision 'discount', rule 1, input 'Amount': '[1..' cannot be read: invalid expression: "
        "'[' was never closed at column 1"
    ]
    assert broken["warnings"] == []

    overlap = api.post(
        "/api/v1/processes/validate/",
        {"xml": blank.replace("&lt; 1000", "&lt;= 1000")},
        format="json",
    ).json()
    assert (overlap["valid"], [w["code"] for w in overlap["warnings"]]) == (
        True,
        ["unique_overlap_possible"],
    )
    gap = api.post(
        "/api/v1/processes/validate/",
        {"xml": blank.replace("&gt;= 1000", "&gt; 2000")},
        format="json",
    ).json()
    assert [w["message"] for w in gap["warnings"]] == [
        "Decision 'discount': no rule covers input 'Amount' [1000..2000]; such inputs match no "
        "rule (the result is null)."
    ]
    assert not DecisionVersion.objects.exists()  # a check stores nothing


def test_the_blank_decision_deploys_and_a_bad_id_is_refused():
    result = dmn_deploy(xml=decision_blank_xml(key="discount", name="A & B"), actor=SYSTEM)
    assert [(v.key, v.name, v.number) for v in result.versions] == [("discount", "A & B", 1)]
    assert result.warnings == []


def test_try_it_is_a_dry_run_that_records_nothing(make_user):
    dmn_deploy(xml=dmn_file("approval.dmn"), actor=SYSTEM)
    api = _api(make_user("designer"))
    body = {"variables": {"amount": 500, "country": "US"}}
    tried = api.post("/api/v1/decisions/approval_level/evaluate/", {**body, "dry_run": True})
    assert tried.status_code == 200
    assert [r["id"] for r in tried.json()["matched_rules"]] == ["Rule_cfo"]
    assert not AuditEvent.objects.filter(action="decision.evaluated").exists()
    evaluated = api.post("/api/v1/decisions/approval_level/evaluate/", body, format="json")
    assert evaluated.status_code == 200
    assert AuditEvent.objects.filter(action="decision.evaluated").count() == 1


def test_the_editor_pages_are_for_designers_and_admins(client, make_user):
    dmn_deploy(xml=dmn_file("approval.dmn"), actor=SYSTEM)
    for role, expected in (("auditor", 403), ("approver", 403)):
        client.force_login(make_user(role))
        assert client.get("/designer/decisions/new/?key=x").status_code == expected
        assert client.get("/designer/decisions/approval_level/edit/").status_code == expected
        assert "New decision" not in client.get("/designer/decisions/").content.decode()
    client.logout()
    assert client.get("/designer/decisions/new/").status_code == 302  # to the login page

    client.force_login(make_user("designer"))
    listing = client.get("/designer/decisions/").content.decode()
    assert 'href="/designer/decisions/new/"' in listing
    detail = client.get("/designer/decisions/approval_level/").content.decode()
    assert 'href="/designer/decisions/approval_level/edit/"' in detail

    edit = client.get("/designer/decisions/approval_level/edit/")
    assert edit.status_code == 200
    page = edit.content.decode()
    assert 'data-key="approval_level"' in page
    assert 'data-evaluate-url="/api/v1/decisions/approval_level/evaluate/"' in page
    assert 'li data-version="1"' in page
    xml = json.loads(
        page.split('id="decision-xml" type="application/json">')[1].split("</script>")[0]
    )
    assert xml == DecisionVersion.objects.get(key="approval_level").deployment.xml

    new = client.get("/designer/decisions/new/?key=discount&name=Discount").content.decode()
    assert 'data-key="discount"' in new and "Not deployed yet." in new
    taken = client.get("/designer/decisions/new/?key=approval_level").content.decode()
    assert "A decision &#x27;approval_level&#x27; exists: edit it instead." in taken
    bad = client.get("/designer/decisions/new/?key=1bad").content.decode()
    assert "cannot be a decision id" in bad
    assert client.get("/designer/decisions/nope/edit/").status_code == 404
