"""The decision rules report: per decision and period, how often each rule matched (from the
``decision.evaluated`` audit events); rules that never matched stand out."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.audit.models import AuditEvent
from apps.common.actors import Actor
from apps.processes.decisions import decision_evaluate, dmn_deploy
from apps.reports.selectors.common import Period
from apps.reports.selectors.decisions import decision_rule_report
from tests.engine_core.dmn.support import dmn_file

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")


@pytest.fixture
def evaluated():
    """approval_level v1 evaluated three times: rule 3 (cfo) twice, rule 1 once; rule 2 never."""
    dmn_deploy(xml=dmn_file("approval.dmn"), actor=SYSTEM)
    for variables in ({"amount": 500, "country": "US"}, {"amount": 200000, "country": "DE"}):
        decision_evaluate(key="approval_level", variables=variables, actor=SYSTEM)
    decision_evaluate(key="approval_level", variables={"amount": 10, "country": "DE"}, actor=SYSTEM)
    return list(AuditEvent.objects.filter(action="decision.evaluated").order_by("pk"))


def _rules(report: dict) -> list[tuple]:
    (decision,) = report["decisions"]
    return [(r["id"], r["matched"], r["never_matched"]) for r in decision["rules"]]


def test_each_rule_is_counted_and_a_rule_that_never_matched_stands_out(evaluated):
    report = decision_rule_report(period=Period.around())
    (decision,) = report["decisions"]
    assert (decision["key"], decision["version"], decision["evaluations"]) == (
        "approval_level",
        1,
        3,
    )
    matched = {r["id"]: r["matched"] for r in decision["rules"]}
    assert sum(matched.values()) == 3
    assert decision["never_matched"] == [r for r, n in matched.items() if n == 0]
    assert decision["never_matched"]  # the fixture leaves at least one rule unmatched
    assert all(r["never_matched"] == (r["matched"] == 0) for r in decision["rules"])


def test_the_period_bounds_what_is_counted(evaluated):
    now = timezone.now()
    before = Period.around(since=now - timedelta(days=10), until=now - timedelta(days=5))
    assert decision_rule_report(period=before)["decisions"] == []
    # a decision named is listed even when nothing evaluated it: all its rules never matched
    named = decision_rule_report(period=before, key="approval_level")
    (decision,) = named["decisions"]
    assert decision["evaluations"] == 0
    assert all(r["matched"] == 0 and r["never_matched"] for r in decision["rules"])


def _api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def test_the_api_answers_auditors_and_refuses_others(evaluated, make_user):
    assert _api().get("/api/v1/reports/decisions/").status_code in (401, 403)
    assert _api(make_user("approver")).get("/api/v1/reports/decisions/").status_code == 403
    answer = _api(make_user("auditor")).get("/api/v1/reports/decisions/?decision=approval_level")
    assert answer.status_code == 200
    body = answer.json()
    assert [d["key"] for d in body["decisions"]] == ["approval_level"]
    assert body["decisions"][0]["evaluations"] == 3
    assert (
        _api(make_user("auditor")).get("/api/v1/reports/decisions/?decision=nope").status_code
        == 404
    )
    bad = _api(make_user("auditor")).get("/api/v1/reports/decisions/?since=yesterday")
    assert bad.status_code == 400


def test_the_page_flags_rules_that_never_matched(evaluated, client, make_user):
    client.force_login(make_user("manager"))
    html = client.get("/admin-reports/decisions/").content.decode()
    assert 'data-decision="approval_level" data-version="1"' in html
    assert "3 evaluations" in html
    assert html.count('class="table-warning"') == len(
        decision_rule_report(period=Period.around())["decisions"][0]["never_matched"]
    )
    assert "never matched</span>" in html
    assert 'href="/admin-reports/decisions/"' in client.get("/admin-reports/").content.decode()
    client.force_login(make_user("approver"))
    assert client.get("/admin-reports/decisions/").status_code == 403
