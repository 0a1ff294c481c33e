# ruff: noqa: S608 - SQL text is built from constants only; every user value is a bound parameter
"""The period's per-user figures (tasks completed, durations) read from the user buckets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from apps.reports.sql import PERCENTILES, fetch, micros
from apps.reports.summaries.common import (
    LOCATED,
    day_bounds,
    period_params,
)


def user_bucket_rows(
    *, since: datetime, until: datetime, process_key: str = ""
) -> list[dict[str, Any]]:
    """Per user, the tasks they completed in ``[since, until)`` (by completion time): the keys
    of ``percentile_query`` over the facts by user (``user_id``, ``completed``,
    ``duration_n/_sum_us/_max/_p50..``), from ``TaskFactUserBucket`` and index walks."""
    first, end = day_bounds(since, until)
    pf = " AND f.process_key = %(process_key)s" if process_key else ""
    wf = pf.replace("f.", "w.")
    cols = "f.completed_by_id AS user_id, f.duration, f.duration_b"
    direct = " UNION ALL ".join(
        f"SELECT {cols} FROM reports_taskfact f WHERE f.completed_by_id IS NOT NULL AND {where}{pf}"
        for where in (
            "f.completed_at >= %(since)s AND f.completed_at < %(first)s",
            "f.completed_at >= %(end)s AND f.completed_at < %(until)s",
        )
    )
    direct += (
        f" UNION ALL SELECT {cols} FROM reports_taskfactpending p"
        " JOIN reports_taskfact f ON f.id = p.fact_id WHERE f.completed_by_id IS NOT NULL"
        f" AND f.completed_at >= %(first)s AND f.completed_at < %(end)s{pf}"
    )
    in_window = "w.completed_at >= %(since)s AND w.completed_at < %(until)s"
    walks = " UNION ALL ".join(
        f"""(SELECT w.duration AS v FROM reports_taskfact w
            WHERE {"" if up else "NOT "}l.up AND w.completed_by_id = l.user_id
              AND w.duration_b {">=" if up else "<="} l.bucket AND {in_window}{wf}
            ORDER BY w.duration_b{"" if up else " DESC"}, w.duration{"" if up else " DESC"}
            OFFSET l.skip LIMIT l.take)"""
        for up in (True, False)
    )
    pct = ", ".join(f"('{name}', CAST({p} AS DOUBLE PRECISION))" for name, p in PERCENTILES)
    sql = f"""
    WITH direct AS ({direct}),
    hist AS (
        SELECT user_id, bucket, CAST(SUM(n) AS BIGINT) AS n,
               CAST(SUM(total_us) AS BIGINT) AS total_us, MAX(high) AS high
        FROM (
            SELECT b.user_id, b.bucket, b.n, b.total_us, b.high
            FROM reports_taskfactuserbucket b
            WHERE b.day >= %(first_day)s AND b.day < %(end_day)s{pf.replace("f.", "b.")}
            UNION ALL
            SELECT d.user_id, d.duration_b, 1, {micros("d.duration")}, d.duration FROM direct d
        ) AS u GROUP BY user_id, bucket
    ),
    cum AS (
        SELECT h.*, CAST(SUM(n) OVER (PARTITION BY user_id ORDER BY bucket) AS BIGINT) - n
                    AS below,
               CAST(SUM(n) OVER (PARTITION BY user_id) AS BIGINT) AS cnt
        FROM hist h
    ),
    series AS (
        SELECT user_id, CAST(SUM(n) AS BIGINT) AS cnt,
               CAST(SUM(total_us) AS BIGINT) AS total_us, MAX(high) AS high
        FROM hist GROUP BY user_id
    ),
    {LOCATED.format(keys="user_id", pct=pct)}
    SELECT 'series' AS row, user_id, '' AS name, CAST(cnt AS DOUBLE PRECISION) AS a,
           CAST(NULL AS DOUBLE PRECISION) AS b, high AS c, total_us AS s
    FROM series
    UNION ALL
    SELECT 'pct', l.user_id, l.name, l.h, MIN(x.v), MAX(x.v), NULL
    FROM located l CROSS JOIN LATERAL ({walks}) AS x
    GROUP BY l.user_id, l.name, l.h"""
    rows = fetch(
        sql,
        period_params(since, until, first, end, process_key=process_key),
    )
    out: dict[int, dict[str, Any]] = {}
    for r in rows:
        row = out.setdefault(r["user_id"], {"user_id": r["user_id"]})
        if r["row"] == "series":
            n = int(r["a"])
            row.update(completed=n, duration_n=n, duration_sum_us=int(r["s"]), duration_max=r["c"])
        else:
            h, lo_v, hi_v = r["a"], r["b"], r["c"]
            lo = float(int(h))
            row[f"duration_{r['name']}"] = lo_v if h == lo else lo_v + (h - lo) * (hi_v - lo_v)
    return list(out.values())
