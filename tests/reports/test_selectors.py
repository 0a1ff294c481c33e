"""Every SLA dashboard figure against hand-computed values, on PostgreSQL and on SQLite.

Percentiles are continuous (PostgreSQL's percentile_cont): h = p * (n - 1),
value = v[floor h] + (h - floor h) * (v[floor h + 1] - v[floor h]).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from apps.audit.actions import AuditAction
from apps.audit.services import record
from apps.common.actors import Actor
from apps.engine.models import JobStatus
from apps.reports.models import ActivitySla
from apps.reports.selectors import (
    Period,
    activity_summary,
    escalations,
    process_summary,
    sla_dashboard,
    throughput,
    workload_by_role,
    workload_by_user,
)
from tests.reports import dataset as ds

pytestmark = pytest.mark.django_db
S = ds.seconds


@pytest.fixture
def now():
    return ds.fixed_now()


@pytest.fixture
def period(now):
    return Period(since=now - timedelta(days=10), until=now + timedelta(hours=1))


@pytest.fixture
def seeded(now, make_user):
    """Process ``exp``: 5 completed instances (100..1000 s), 2 running (one failing), 1 suspended,
    1 cancelled, 1 completed before the period; user task ``approve`` (warning 1 h, breach 2 h),
    ``review`` (due dates only), service step ``book``."""
    alice, bob = make_user("manager", username="alice"), make_user("manager", username="bob")
    day = (now - timedelta(days=2)).replace(hour=1, minute=0, second=0)
    done = [ds.instance("exp", created=day, ended=day + S(d)) for d in (100, 200, 300, 400, 1000)]
    running = ds.instance("exp", created=day)
    ds.instance("exp", created=day)
    ds.instance("exp", created=day, status="suspended")
    ds.instance("exp", created=day, status="cancelled", ended=day + S(5))
    old = ds.instance("exp", created=now - timedelta(days=20), ended=now - timedelta(days=19))
    ds.incident(running, "book")

    ActivitySla.objects.create(
        process_key="exp", activity_id="approve", warning_seconds=3600, breach_seconds=7200
    )
    # (duration, claimed after, completed by): met 60, met 3600 (= warning), warned 3601,
    # warned 7200 (= breach), breached 7201.
    for inst, (duration, claim, who) in zip(
        done,
        [
            (3600, 600, alice),
            (3601, None, alice),
            (7200, 7000, alice),
            (7201, 1, bob),
            (60, 10, bob),
        ],
        strict=True,
    ):
        ds.task(
            inst,
            "approve",
            created=day,
            completed=day + S(duration),
            claimed=None if claim is None else day + S(claim),
            completed_by=who,
        )
    # Open tasks judged at `now` with risk_hours=1: ages 7201 (breached), 7200 (at risk),
    # 3600 (at risk, boundary), 3599 (fine); one created before the period (breached).
    for age, who in ((7201, alice), (7200, None), (3600, None), (3599, bob)):
        ds.task(running, "approve", created=now - S(age), assignee=who)
    ds.task(old, "approve", created=now - timedelta(days=20))
    ds.task(old, "approve", created=day, completed=day + S(99999), status="cancelled")
    ds.task(old, "approve", created=now - timedelta(days=20), completed=now - timedelta(days=19))
    # review: no ActivitySla, the due date is the deadline: met (early), met (at due), breached.
    for finish in (500, 1000, 1001):
        ds.task(
            done[0],
            "review",
            created=day,
            due=day + S(1000),
            completed=day + S(finish),
            groups=("clerk", "manager"),
        )
    ds.task(running, "review", created=now - S(50), due=now - S(1), groups=("clerk", "manager"))
    # book: done jobs (created, started, finished): durations 5, 12, 31.
    for started, finished in ((2, 5), (10, 12), (1, 31)):
        ds.job(done[1], "book", created=day, started=day + S(started), finished=day + S(finished))
    ds.job(running, "book", created=day, status=JobStatus.PENDING)
    ds.job(running, "book", created=day, status=JobStatus.INCIDENT, attempts=3)
    record(AuditAction.TASK_ESCALATED, actor=Actor.system("test"), process_key="exp")
    record(AuditAction.TASK_ESCALATED, actor=Actor.system("test"), process_key="exp")
    return {"day": day}


def _stats(count, avg, p50, p90, p95, p99, mx):
    return {
        "count": count,
        "avg_s": avg,
        "p50_s": p50,
        "p90_s": p90,
        "p95_s": p95,
        "p99_s": p99,
        "max_s": mx,
    }


def test_process_summary_counts_and_end_to_end_percentiles(seeded, period):
    [exp] = process_summary(period=period)
    assert {k: exp[k] for k in ("started", "completed", "running", "suspended", "cancelled")} == {
        "started": 9,
        "completed": 5,
        "running": 2,
        "suspended": 1,
        "cancelled": 1,
    }
    assert exp["failing"] == 1
    # [100, 200, 300, 400, 1000]: p90 h=3.6 -> 400 + .6 * 600
    assert exp["duration"] == _stats(5, 400.0, 300.0, 760.0, 880.0, 976.0, 1000.0)


def test_activity_durations_waiting_working_and_sla(seeded, period, now):
    rows = {a["activity_id"]: a for a in activity_summary(period=period, risk_hours=1, now=now)}
    approve = rows["approve"]
    assert (approve["kind"], approve["completed"], approve["open"]) == ("user_task", 5, 5)
    # [60, 3600, 3601, 7200, 7201]
    assert approve["duration"] == _stats(5, 4332.4, 3601.0, 7200.6, 7200.8, 7200.96, 7201.0)
    # waiting [1, 10, 600, 3601, 7000]; working [0, 50, 200, 3000, 7200]
    assert approve["waiting"] == _stats(5, 2242.4, 600.0, 5640.4, 6320.2, 6864.04, 7000.0)
    assert approve["working"] == _stats(5, 2090.0, 200.0, 5520.0, 6360.0, 7032.0, 7200.0)
    assert approve["sla_target"] == {"warning_s": 3600, "breach_s": 7200, "business_time": False}
    assert approve["sla"] == {
        "met": 2,
        "warned": 2,
        "breached": 1,
        "judged": 5,
        "met_rate": 0.4,
        "warned_rate": 0.4,
        "breached_rate": 0.2,
        "open_at_risk": 2,
        "open_breached": 2,
    }
    review = rows["review"]
    assert review["sla_target"] is None
    assert (review["sla"]["met"], review["sla"]["warned"], review["sla"]["breached"]) == (2, 0, 1)
    assert (review["sla"]["open_breached"], review["sla"]["open_at_risk"]) == (1, 0)
    book = rows["book"]
    assert (book["kind"], book["completed"], book["open"]) == ("service_task", 3, 2)
    # durations [5, 12, 31]: p90 h=1.8 -> 12 + .8 * 19
    assert book["duration"] == _stats(3, 16.0, 12.0, 27.2, 29.1, 30.62, 31.0)
    assert book["waiting"] == _stats(3, 4.333, 2.0, 8.4, 9.2, 9.84, 10.0)  # [1, 2, 10]
    assert book["working"] == _stats(3, 11.667, 3.0, 24.6, 27.3, 29.46, 30.0)  # [2, 3, 30]
    # The slowest p95 first.
    assert [a["activity_id"] for a in activity_summary(period=period, now=now)] == [
        "approve",
        "review",
        "book",
    ]


def test_risk_window_widens_at_risk(seeded, period, now):
    rows = {a["activity_id"]: a for a in activity_summary(period=period, risk_hours=2, now=now)}
    # 3599 s old + 2 h >= 7200: at risk too.
    assert rows["approve"]["sla"]["open_at_risk"] == 3


def test_throughput_workload_and_escalations(seeded, period, now):
    day = seeded["day"].strftime("%Y-%m-%d")
    [bucket] = throughput(period=period)
    assert bucket == {"bucket": day, "started": 9, "completed": 5}
    assert workload_by_role(risk_hours=1, now=now) == [
        {"role": "clerk", "open": 1, "open_at_risk": 0, "open_breached": 1},
        {"role": "manager", "open": 6, "open_at_risk": 2, "open_breached": 3},
    ]
    users = workload_by_user(period=period)
    assert [(u["username"], u["open_assigned"], u["completed"]) for u in users] == [
        ("alice", 1, 3),
        ("bob", 1, 2),
    ]
    assert users[0]["duration"]["p50_s"] == 3601.0  # alice: [3600, 3601, 7200]
    assert users[1]["duration"]["p50_s"] == 3630.5  # bob: [60, 7201]
    assert escalations(period=period) == [{"process_key": "exp", "escalations": 2}]


def test_dashboard_combines_and_filters_by_process(seeded, period, now):
    ds.instance("other", created=now - timedelta(days=1), ended=now - timedelta(hours=1))
    report = sla_dashboard(period=period, process_key="exp", risk_hours=1, now=now)
    [exp] = report["processes"]
    assert exp["escalations"] == 2
    # approve 2/2/1 + review 2/0/1
    assert (exp["sla"]["met"], exp["sla"]["warned"], exp["sla"]["breached"]) == (4, 2, 2)
    assert exp["sla"]["breached_rate"] == 0.25
    assert {p["process_key"] for p in sla_dashboard(period=period, now=now)["processes"]} == {
        "exp",
        "other",
    }


@pytest.mark.parametrize(
    ("durations", "expected"),
    [
        ([42], (42.0, 42.0, 42.0, 42.0)),
        ([10, 20], (15.0, 19.0, 19.5, 19.9)),
        # n = 21: p95 lands exactly on rank 19 (no interpolation), p99 on 19.8
        ([10 * i for i in range(21)], (100.0, 180.0, 190.0, 198.0)),
        # n = 20: p95 h = 18.05 -> 19 + .05
        (list(range(1, 21)), (10.5, 18.1, 19.05, 19.81)),
    ],
)
def test_percentile_boundaries(durations, expected, now):
    start = now - timedelta(days=1)
    for d in durations:
        ds.instance("pct", created=start, ended=start + S(d))
    ds.instance("pct", created=start)  # running: no duration, must not count
    [row] = process_summary(period=Period(since=now - timedelta(days=2), until=now))
    d = row["duration"]
    assert (d["p50_s"], d["p90_s"], d["p95_s"], d["p99_s"]) == expected
    assert d["count"] == len(durations)


def test_empty_period_gives_no_rows(now):
    assert process_summary(period=Period(since=now - timedelta(days=1), until=now)) == []
    assert activity_summary(period=Period(since=now - timedelta(days=1), until=now)) == []
