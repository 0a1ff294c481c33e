# ruff: noqa: S608 - SQL text is built from constants only; every user value is a bound parameter
"""Workload: open tasks now per candidate role (at risk, breached) and, per user, tasks assigned
now and completed in the period."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from apps.accounts.models import User
from apps.reports.selectors.activities import SLA_COUNTS
from apps.reports.selectors.business import WALL_CLOCK_SLA, open_business_counts
from apps.reports.selectors.common import DEFAULT_RISK_HOURS, Period, _params, _process_filter
from apps.reports.sql import (
    fenced,
    fetch,
    is_postgres,
    json_text_elements,
    percentile_query,
    seconds_between,
    stats,
)
from apps.reports.summaries import user_bucket_rows


def workload_by_role(
    *, process_key: str = "", risk_hours: float = DEFAULT_RISK_HOURS, now: datetime | None = None
) -> list[dict]:
    """Open tasks now per candidate role, with how many are at risk or breached."""
    open_tasks = f"""
        SELECT t.candidate_groups AS cgroups, 1 AS is_open,
               {seconds_between("t.created_at", "%(now)s")} AS open_age,
               COALESCE(s.breach_seconds, {seconds_between("t.created_at", "t.due_at")})
                   AS breach_s
        FROM inbox_humantask t
        LEFT JOIN reports_activitysla s
               ON s.process_key = t.process_key AND s.activity_id = t.activity_id
        WHERE t.status = 'open' AND {WALL_CLOCK_SLA}{_process_filter("t.process_key", process_key)}"""
    # fenced: each open task's age and threshold computed once, not per role and count (020)
    sql = f"""
        SELECT g.value AS role, SUM(is_open) AS open_now,
               {SLA_COUNTS["open_at_risk"]} AS open_at_risk,
               {SLA_COUNTS["open_breached"]} AS open_breached
        FROM ({fenced(open_tasks)}) AS o {json_text_elements("o.cgroups", "g")}
        GROUP BY g.value ORDER BY g.value"""
    rows = fetch(
        sql,
        {
            "now": now or timezone.now(),
            "risk_s": float(risk_hours) * 3600,
            "process_key": process_key,
        },
    )
    # open tasks of business-time SLAs, judged under their calendar (decision 041)
    roles: dict = {
        r["role"]: {
            "open": int(r["open_now"]),
            "open_at_risk": int(r["open_at_risk"]),
            "open_breached": int(r["open_breached"]),
        }
        for r in rows
    }
    business = open_business_counts(
        now=now or timezone.now(),
        risk_s=float(risk_hours) * 3600,
        process_key=process_key,
        key=lambda t: list(t["candidate_groups"] or []),
    )
    for role, counts in business.items():
        mine = roles.setdefault(role, {"open": 0, "open_at_risk": 0, "open_breached": 0})
        for name, n in counts.items():
            mine[name] += n
    return [{"role": role, **roles[role]} for role in sorted(roles)]


def workload_by_user(*, period: Period, process_key: str = "", buckets: bool = True) -> list[dict]:
    """Per user: open tasks assigned now; tasks completed in the period and their median time.

    The completed part comes from the per-day user buckets and index walks in PostgreSQL
    (decision 019; ``buckets=False``: sorting the period's task facts, decision 017); the open
    part is a count over the open tasks."""
    params = _params(period, process_key=process_key)
    done = workload_done(period=period, process_key=process_key, buckets=buckets)
    assigned = fetch(
        f"""SELECT t.assignee_id AS user_id, COUNT(*) AS open_assigned FROM inbox_humantask t
            WHERE t.status = 'open' AND t.assignee_id IS NOT NULL
                  {_process_filter("t.process_key", process_key)}
            GROUP BY t.assignee_id""",
        params,
    )
    return _workload_rows(done, assigned)


def workload_done(*, period: Period, process_key: str = "", buckets: bool = True) -> list[dict]:
    """Per user, the tasks completed in the period: count and duration figures (in PostgreSQL
    from the per-day user buckets, decision 019; ``buckets=False`` sorts the facts)."""
    if buckets and is_postgres():
        return user_bucket_rows(since=period.since, until=period.until, process_key=process_key)
    return fetch(
        percentile_query(
            source=f"""
                SELECT f.completed_by_id AS user_id, f.duration AS duration
                FROM reports_taskfact f
                WHERE f.completed_by_id IS NOT NULL
                  AND f.completed_at >= %(since)s AND f.completed_at < %(until)s
                  {_process_filter("f.process_key", process_key)}""",
            keys=["user_id"],
            measures=["duration"],
            extra={"completed": "COUNT(*)"},
        ),
        _params(period, process_key=process_key),
    )


def _workload_rows(done: list[dict], assigned: list[dict]) -> list[dict]:
    rows: dict[int, dict[str, Any]] = {r["user_id"]: r for r in done}
    for r in assigned:
        rows.setdefault(r["user_id"], {"user_id": r["user_id"], "completed": 0, "duration_n": 0})
        rows[r["user_id"]]["open_assigned"] = r["open_assigned"]
    names = dict(User.objects.filter(pk__in=rows).values_list("pk", "username"))
    out = []
    for user_id, r in rows.items():
        if user_id not in names:
            continue
        for name in ("sum_us", "max", "p50", "p90", "p95", "p99"):
            r.setdefault(f"duration_{name}", None)
        out.append(
            {
                "username": names[user_id],
                "open_assigned": int(r.get("open_assigned") or 0),
                "completed": int(r["completed"] or 0),
                "duration": stats(r, "duration"),
            }
        )
    return sorted(out, key=lambda r: r["username"])
