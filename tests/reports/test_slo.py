"""SLOs, error budgets, burn rates and SLIs against hand-computed values (both databases)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from apps.audit.actions import AuditAction
from apps.audit.models import AuditEvent
from apps.audit.services import record
from apps.common.actors import Actor
from apps.common.errors import InvalidInput
from apps.engine.models import Incident
from apps.reports.services import slo_set
from apps.reports.slo import slis, slo_states, slo_status
from apps.reports.summaries import fact_buckets_summarise
from tests.reports import dataset as ds

pytestmark = pytest.mark.django_db
S = ds.seconds
ADMIN = Actor.system("test")


@pytest.fixture
def now():
    return ds.fixed_now()


def test_error_budget_burn_rates_and_at_risk(now):
    ds.version_for("slo")
    slo_set(process_key="slo", objective_percent=90, target_seconds=1000, actor=ADMIN)
    two_days = now - timedelta(days=2)
    for _ in range(36):
        ds.instance("slo", created=two_days, ended=two_days + S(500))  # good
    for _ in range(2):
        ds.instance("slo", created=two_days, ended=two_days + S(2000))  # late: bad
    ds.instance("slo", created=now - S(2000))  # running past the target: bad 1000 s ago
    ds.instance("slo", created=now - S(500))  # running, not decided yet
    ds.instance("slo", created=two_days, status="cancelled", ended=two_days + S(9000))
    ds.instance("slo", created=now - timedelta(days=40), ended=now - timedelta(days=40) + S(5))
    [status] = slo_status(now=now)
    assert {k: status[k] for k in ("judged", "good", "bad", "sli", "budget_remaining")} == {
        "judged": 39,
        "good": 36,
        "bad": 3,
        "sli": 0.9231,  # 36 / 39
        "budget_remaining": 0.2308,  # 1 - (3 / 39) / 0.1
    }
    assert status["burn_rates"] == {"1h": 10.0, "6h": 10.0, "3d": 0.769}
    assert status["state"] == "at_risk"
    assert slo_states() == {"slo": "at_risk"}


def test_completion_exactly_at_target_is_good_and_empty_budget_is_exhausted(now):
    ds.version_for("edge")
    ds.version_for("quiet")
    slo_set(process_key="edge", objective_percent="50", target_seconds=100, actor=ADMIN)
    slo_set(process_key="quiet", objective_percent="99.5", target_seconds=100, actor=ADMIN)
    start = now - timedelta(hours=2)
    ds.instance("edge", created=start, ended=start + S(100))
    ds.instance("edge", created=start, ended=start + S(101))
    edge, quiet = slo_status(now=now)
    assert (edge["good"], edge["bad"], edge["budget_remaining"], edge["state"]) == (
        1,
        1,
        0.0,
        "exhausted",
    )
    assert (quiet["judged"], quiet["state"], quiet["burn_rates"]["1h"]) == (0, "no_data", None)


def test_slo_set_validates_and_audits_before_after():
    with pytest.raises(InvalidInput) as unknown:
        slo_set(process_key="p", objective_percent=99, target_seconds=10, actor=ADMIN)
    assert unknown.value.code == "unknown_process"
    ds.version_for("p")
    with pytest.raises(InvalidInput):
        slo_set(process_key="p", objective_percent=100, target_seconds=10, actor=ADMIN)
    with pytest.raises(InvalidInput):
        slo_set(process_key="p", objective_percent="abc", target_seconds=10, actor=ADMIN)
    slo_set(process_key="p", objective_percent=99, target_seconds=172800, actor=ADMIN)
    slo_set(process_key="p", objective_percent=95, target_seconds=172800, actor=ADMIN)
    event = AuditEvent.objects.filter(action="admin.settings_changed").last()
    assert event.before["objective_percent"] == "99.000"
    assert event.after == {
        "objective_percent": "95.000",
        "target_seconds": 172800,
        "window_days": 30,
    }


def test_slis(now):
    day = now - timedelta(days=1)
    a, b, c = (ds.instance("sli", created=day, ended=day + S(60)) for _ in range(3))
    d = ds.instance("sli", created=day, status="cancelled", ended=day + S(1))
    for inst, attempts, status in (
        (a, 1, "done"),
        (b, 2, "done"),
        (c, 3, "incident"),
        (d, 1, "pending"),
    ):
        ds.job(inst, "book", created=day, attempts=attempts, status=status)
    done_task = ds.task(a, "approve", created=day, completed=day + S(5))
    ds.task(c, "approve", created=day, completed=day + S(5))  # no outcome event
    ds.task(b, "approve", created=day)
    for _ in range(2):  # recorded twice: a duplicate outcome
        record(AuditAction.TASK_APPROVED, actor=ADMIN, process_key="sli", task_id=done_task.pk)
    record(AuditAction.TASK_ESCALATED, actor=ADMIN, process_key="sli")
    incident = ds.incident(c, "book")
    Incident.objects.filter(pk=incident.pk).update(
        status="resolved", created_at=now - S(300), resolved_at=now - S(180)
    )
    window = {"period_since": now - timedelta(days=2), "period_until": now + timedelta(hours=1)}
    [row] = slis(**window)
    # the completed tasks come from the queued facts, then from the per-day user buckets (020)
    fact_buckets_summarise()
    assert slis(**window) == [row]
    assert slis(**window, process_key="sli") == [row]
    assert row == {
        "process_key": "sli",
        "instances": 4,
        "success_rate": 0.75,
        "instances_with_incident": 1,
        "step_failure_rate": 0.25,
        "retries_per_instance": 0.75,
        "escalation_rate": 0.3333,  # 1 of 3 tasks
        "incident_mean_time_to_resolve_s": 120.0,
        "queue_depth": 1,
        "duplicate_outcomes": 1,
        "audit_completeness": 0.5,
    }


def test_slis_count_the_periods_instances_only_whatever_their_ids(now):
    """The SLIs walk the id range of the period's instances (decision 020): an instance of
    another period inside that range, or just outside it, adds nothing."""
    day, old = now - timedelta(days=1), now - timedelta(days=10)

    def with_work(inst, attempts):
        ds.job(inst, "book", created=inst.created_at, attempts=attempts, status="done")
        ds.task(inst, "approve", created=inst.created_at)
        return inst

    with_work(ds.instance("sli", created=old, ended=old + S(60)), 5)  # below the range
    first = with_work(ds.instance("sli", created=day, ended=day + S(60)), 2)
    with_work(ds.instance("sli", created=old, ended=old + S(60)), 7)  # inside the range
    last = with_work(ds.instance("sli", created=day, status="running"), 1)
    with_work(ds.instance("sli", created=old, ended=old + S(60)), 9)  # above the range
    window = {"period_since": now - timedelta(days=2), "period_until": now + timedelta(hours=1)}
    [row] = slis(**window)
    assert first.pk < last.pk and row["instances"] == 2
    assert row["retries_per_instance"] == 0.5  # (2 - 1) + (1 - 1) retries over 2 instances
    assert row["success_rate"] == 1.0 and row["step_failure_rate"] == 0.0
    record(AuditAction.TASK_ESCALATED, actor=ADMIN, process_key="sli")
    assert slis(**window)[0]["escalation_rate"] == 0.5  # 1 escalation over the 2 tasks
    assert slis(period_since=now - timedelta(hours=1), period_until=now) == []


def test_admin_saves_through_the_audited_service(client, make_user):
    ds.version_for("adm")
    admin_user = make_user("admin", is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    response = client.post(
        "/admin/reports/processslo/add/",
        {
            "process_key": "adm",
            "objective_percent": "97.5",
            "target_seconds": "3600",
            "window_days": "7",
        },
    )
    assert response.status_code == 302
    unknown = client.post(
        "/admin/reports/processslo/add/",
        {"process_key": "nope", "objective_percent": "97.5", "target_seconds": "60"},
    )
    assert unknown.status_code == 200 and b"Select a valid choice" in unknown.content
    event = AuditEvent.objects.filter(action="admin.settings_changed", process_key="adm").get()
    assert event.after == {"objective_percent": "97.500", "target_seconds": 3600, "window_days": 7}


def test_slo_badge_for_process_lists(now):
    from django.template import Context, Template

    ds.version_for("edge")
    slo_set(process_key="edge", objective_percent="50", target_seconds=100, actor=ADMIN)
    start = now - timedelta(hours=2)
    ds.instance("edge", created=start, ended=start + S(101))
    html = Template("{% load reports_tags %}{% slo_badge 'edge' %}|{% slo_badge 'none' %}").render(
        Context({})
    )
    assert html == (
        '<span class="badge text-bg-danger" data-slo-state="exhausted">SLO budget exhausted</span>|'
    )
