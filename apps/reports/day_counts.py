# ruff: noqa: S608 - SQL text is built from constants only; every user value is a bound parameter
"""Counts over a period read from the per-day summaries instead of the period's rows
(decision 020): the period's whole UTC days from the summary rows, its partial first and last
days and the facts still queued from the facts themselves, each fact counted once (the summary
run moves a fact from the queue into the summary rows in one statement).

PostgreSQL only, as the summaries (decision 019); SQLite counts the facts (same numbers).
"""

from __future__ import annotations

from datetime import datetime

from apps.reports.sql import fetch, is_postgres
from apps.reports.summaries import day_bounds, period_params


def completed_tasks_by_process(
    *, since: datetime, until: datetime, process_key: str = ""
) -> dict[str, int]:
    """Process key -> human tasks completed in ``[since, until)`` (by completion time).

    In PostgreSQL the whole days come from ``TaskFactUserBucket`` (per day of completion, which
    holds the facts completed by someone) plus the facts completed by no one (rare: an index
    range), the partial days and the queued facts from the facts."""
    pf = " AND f.process_key = %(process_key)s" if process_key else ""
    if not is_postgres():
        sql = f"""SELECT f.process_key AS process_key, COUNT(*) AS n FROM reports_taskfact f
                  WHERE f.completed_at >= %(since)s AND f.completed_at < %(until)s{pf}
                  GROUP BY f.process_key"""
        rows = fetch(sql, {"since": since, "until": until, "process_key": process_key})
        return {r["process_key"]: int(r["n"]) for r in rows}
    first, end = day_bounds(since, until)
    sql = f"""
        SELECT process_key, SUM(n) AS n FROM (
            SELECT b.process_key AS process_key, b.n AS n FROM reports_taskfactuserbucket b
            WHERE b.day >= %(first_day)s AND b.day < %(end_day)s{pf.replace("f.", "b.")}
            UNION ALL
            SELECT f.process_key, 1 FROM reports_taskfact f
            WHERE f.completed_at >= %(since)s AND f.completed_at < %(first)s{pf}
            UNION ALL
            SELECT f.process_key, 1 FROM reports_taskfact f
            WHERE f.completed_at >= %(end)s AND f.completed_at < %(until)s{pf}
            UNION ALL
            SELECT f.process_key, 1 FROM reports_taskfact f
            WHERE f.completed_by_id IS NULL
              AND f.completed_at >= %(first)s AND f.completed_at < %(end)s{pf}
            UNION ALL
            SELECT f.process_key, 1 FROM reports_taskfactpending p
            JOIN reports_taskfact f ON f.id = p.fact_id
            WHERE f.completed_by_id IS NOT NULL
              AND f.completed_at >= %(first)s AND f.completed_at < %(end)s{pf}
        ) AS c GROUP BY process_key"""
    rows = fetch(
        sql,
        period_params(since, until, first, end, process_key=process_key),
    )
    return {r["process_key"]: int(r["n"]) for r in rows}
