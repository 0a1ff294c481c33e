"""The read-only decision pages: who sees them, the list, a version's table."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from apps.audit.models import AuditEvent
from apps.common.actors import Actor
from apps.processes.decisions import dmn_deploy
from tests.engine_core.dmn.support import dmn_file

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")


@pytest.fixture
def deployed():
    dmn_deploy(xml=dmn_file("approval.dmn"), actor=SYSTEM)
    dmn_deploy(xml=dmn_file("approval.dmn").replace(b'"cfo"', b'"board"'), actor=SYSTEM)


def test_the_list_shows_every_decision_with_its_latest_version(client, make_user, deployed):
    client.force_login(make_user("auditor"))
    html = client.get(reverse("designer:decisions")).content.decode()
    assert 'data-decision-key="approval_level"' in html
    assert "Approval level" in html and "v2" in html and "FIRST" in html


def test_a_version_shows_its_table_as_written(client, make_user, deployed):
    client.force_login(make_user("designer"))
    latest = client.get(reverse("designer:decision", args=["approval_level"])).content.decode()
    assert "version 2" in latest
    assert 'data-rule-id="Rule_cfo"' in latest
    assert "&quot;board&quot;" in latest
    assert "[1000..100000]" in latest and "not(&quot;high&quot;)" in latest
    first = client.get(
        reverse("designer:decision-version", args=["approval_level", 1])
    ).content.decode()
    assert "&quot;cfo&quot;" in first and "&quot;board&quot;" not in first
    literal = client.get(reverse("designer:decision", args=["greeting"])).content.decode()
    assert "upper case(name)" in literal


def test_unknown_decisions_and_versions_are_404(client, make_user, deployed):
    client.force_login(make_user("designer"))
    assert client.get(reverse("designer:decision", args=["nope"])).status_code == 404
    missing = reverse("designer:decision-version", args=["approval_level", 9])
    assert client.get(missing).status_code == 404


def test_the_pages_need_a_designer_auditor_or_admin(client, make_user, deployed):
    url = reverse("designer:decisions")
    assert client.get(url).status_code == 302  # to the login page
    client.force_login(make_user("approver"))
    assert client.get(url).status_code == 403
    assert client.get(reverse("designer:decision", args=["approval_level"])).status_code == 403


def test_rule_match_counts_from_the_audit_trail(client, make_user, deployed):
    designer = make_user("designer")
    api = APIClient()
    api.force_authenticate(designer)
    url = reverse("api-decision-evaluate", args=["approval_level"])
    for variables in ({"amount": 500, "country": "US"}, {"amount": 5000, "country": "DE"}) * 2:
        assert api.post(url, {"variables": variables}, format="json").status_code == 200
    stats = api.get(reverse("api-decision-rule-stats", args=["approval_level"])).json()
    assert stats["decision"] == {"id": "approval_level", "version": 2}
    assert stats["evaluations"] == 4
    assert stats["rules"] == [
        {"id": "Rule_small", "matched": 0},
        {"id": "Rule_mid", "matched": 2},
        {"id": "Rule_cfo", "matched": 2},
    ]
    older = api.get(reverse("api-decision-rule-stats", args=["approval_level"]), {"version": 1})
    assert older.json()["evaluations"] == 0
    client.force_login(designer)
    html = client.get(reverse("designer:decision", args=["approval_level"])).content.decode()
    assert 'evaluated <span class="fg-evaluations">4</span> times' in html
    assert html.count("never matched") == 1
    refused = APIClient()
    refused.force_authenticate(make_user("approver"))
    stats_url = reverse("api-decision-rule-stats", args=["approval_level"])
    assert refused.get(stats_url).status_code == 403


def test_try_it_evaluates_highlights_and_records_nothing(client, make_user, deployed):
    client.force_login(make_user("designer"))
    url = reverse("designer:decision-version", args=["approval_level", 1])
    page = client.get(url).content.decode()
    assert "&quot;amount&quot;: null" in page and "&quot;country&quot;: null" in page
    assert "&quot;risk&quot;" not in page  # produced by the required decision
    html = client.post(url, {"variables": '{"amount": 500, "country": "US"}'}).content.decode()
    assert 'data-rule-id="Rule_cfo" class="fg-rule-tried"' in html
    assert "Matched rule <strong>3</strong>" in html
    assert "&quot;approver&quot;: &quot;cfo&quot;" in html
    assert not AuditEvent.objects.filter(action="decision.evaluated").exists()
    bad = client.post(url, {"variables": '{"amount": "lots"}'})
    assert bad.status_code == 422
    assert "input &#x27;Amount&#x27; must be a number" in bad.content.decode()
    not_json = client.post(url, {"variables": "{amount: 5"})
    assert not_json.status_code == 400
    assert "This is not JSON" in not_json.content.decode()
    assert client.post(url, {"variables": "[1]"}).status_code == 400


def test_try_it_needs_a_reader(client, make_user, deployed):
    client.force_login(make_user("approver"))
    url = reverse("designer:decision", args=["approval_level"])
    assert client.post(url, {"variables": "{}"}).status_code == 403
