"""The demo history: manager_approval breaches its SLA in exactly 30 % of completed approvals,
the SLO is at risk, the heatmap's hottest step is the approval, two incidents wait."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command

from apps.audit.models import AuditEvent
from apps.common.actors import Actor
from apps.engine.models import ProcessInstance
from apps.inbox.selectors import inbox_counts
from apps.processes import services as process_services
from apps.reports import console
from apps.reports.demo import report_demo_seed
from apps.reports.selectors import Period, activity_summary, heatmap
from apps.reports.slo import slis, slo_status
from tests.reports import dataset as ds

pytestmark = pytest.mark.django_db
BPMN = Path(__file__).parent / "bpmn" / "expense_demo.bpmn"
DEMO_BPMN = Path(__file__).resolve().parents[2] / "apps" / "processes" / "demo_bpmn"


@pytest.fixture
def version():
    result = process_services.version_deploy(xml=BPMN.read_bytes(), actor=Actor.system("t"))
    assert result.deployed
    return result.version


def test_demo_history_figures(version, make_user):
    make_user("manager", username="mia")
    now = ds.fixed_now()
    summary = report_demo_seed(now=now)
    assert (summary.completed, summary.approvals, summary.approvals_breached) == (150, 100, 30)
    assert (summary.open_tasks, summary.incidents) == (6, 2)
    period = Period(since=now - timedelta(days=30), until=now + timedelta(minutes=5))
    rows = {
        a["activity_id"]: a
        for a in activity_summary(period=period, process_key="expense_approval", now=now)
    }
    approval = rows["manager_approval"]["sla"]
    assert (approval["met"], approval["warned"], approval["breached"]) == (60, 10, 30)
    assert approval["breached_rate"] == 0.3
    assert (approval["open_breached"], approval["open_at_risk"]) == (2, 2)
    [slo] = slo_status(now=now + timedelta(minutes=5))
    assert slo["bad"] == 12 and slo["state"] == "at_risk"
    assert 0 < slo["budget_remaining"] < 0.25
    figures = heatmap(version_id=version.pk, period=period, now=now)["activities"]
    hottest = max(figures, key=lambda a: a["p95_s"] or 0)
    assert hottest["activity_id"] == "manager_approval"
    [group] = console.incident_groups()
    assert group["count"] == 2
    # the audit trail matches the history: every approval's outcome recorded once
    [sli] = slis(
        period_since=period.since, period_until=period.until, process_key="expense_approval"
    )
    assert (sli["audit_completeness"], sli["duplicate_outcomes"]) == (1.0, 0)
    history = AuditEvent.objects.filter(data__demo_history=True)
    assert history.filter(action__in=["task.approved", "task.rejected"]).count() == 100
    assert history.filter(action="instance.started").count() == 150
    assert history.filter(action="instance.completed").count() == 150
    # idempotent
    assert report_demo_seed(now=now).created is False
    call_command("seed_report_demo")
    assert ProcessInstance.objects.filter(business_key__startswith="DEMO-EXP-").count() == 159


def test_the_demos_open_approvals_are_late_in_the_inbox_as_on_the_dashboard(make_user):
    # given the demo model as bootstrap_demo deploys it (SLA: warn after 20 h, breach after 1 d)
    # and the demo's open approvals, 30, 27, 22, 21, 5 and 1 hours old
    xml = (DEMO_BPMN / "expense_approval.bpmn").read_bytes()
    assert process_services.version_deploy(xml=xml, actor=Actor.system("t")).deployed
    manager = make_user("manager", username="mia")
    now = ds.fixed_now()
    report_demo_seed(now=now)
    # when the manager opens the inbox, then the overdue and at-risk badges show the two
    # breached and the two at-risk approvals the dashboard counts
    counts = inbox_counts(user=manager, now=now)
    assert (counts["overdue"], counts["at_risk"]) == (2, 2)
