# ruff: noqa: S608 - SQL text is built from constants only; every user value is a bound parameter
"""The period's per-activity figures read from the buckets (counts, percentiles, SLA counts), and
the all-time SLA breaches of the ``flowgate_sla_breaches`` counter."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from apps.reports.sql import BUCKETS_PER_E, PERCENTILES, bucket_of, fetch, micros
from apps.reports.summaries.common import (
    DUE_BREACHED,
    DUE_MET,
    LOCATED,
    MEASURES,
    bucket_case,
    day_bounds,
    measure_value,
    period_params,
    unpivot,
)


def _filters(alias: str, *, process_key: str, version_id: int | None) -> str:
    out = f" AND {alias}.process_key = %(process_key)s" if process_key else ""
    if version_id is not None:
        out += f" AND {alias}.version_id = %(version_id)s"
    return out


def _bucket_sql(
    *, process_key: str, version_id: int | None, measures: Sequence[str], kind: str = "task"
) -> str:
    """``kind``: "task" (TaskFact, with SLA thresholds and due dates) or "job" (JobFact)."""
    facts, due = f"reports_{kind}fact", kind == "task"
    ff = _filters("f", process_key=process_key, version_id=version_id)
    bf = _filters("b", process_key=process_key, version_id=version_id)
    due_s = "f.due_s" if due else "CAST(NULL AS DOUBLE PRECISION) AS due_s"
    cols = f"f.process_key, f.activity_id, f.duration, f.waiting, f.working, {due_s}, " + ", ".join(
        f"f.{m}_b" for m in MEASURES
    )
    direct = " UNION ALL ".join(
        f"SELECT {cols} FROM {facts} f WHERE {where}{ff}"
        for where in (
            "f.created_at >= %(since)s AND f.created_at < %(first)s",
            "f.created_at >= %(end)s AND f.created_at < %(until)s",
        )
    )
    direct += (
        f" UNION ALL SELECT {cols} FROM {facts}pending p"
        f" JOIN {facts} f ON f.id = p.fact_id"
        f" WHERE p.created_at >= %(first)s AND p.created_at < %(end)s{ff}"
    )
    wanted_measures = ", ".join(str(MEASURES.index(m)) for m in measures) or "-1"
    pct = ", ".join(f"('{name}', CAST({p} AS DOUBLE PRECISION))" for name, p in PERCENTILES)
    in_window = "w.created_at >= %(since)s AND w.created_at < %(until)s"
    wf = _filters("w", process_key="", version_id=version_id)
    # v[lo] and v[lo + 1], walking up from the bucket of rank lo or down from the bucket of
    # rank lo + 1, whichever skips fewer entries
    walks = " UNION ALL ".join(
        f"""(SELECT w.{m} AS v FROM {facts} w
            WHERE l.measure = {i} AND {"" if up else "NOT "}l.up
              AND w.process_key = l.process_key AND w.activity_id = l.activity_id
              AND w.{m}_b {">=" if up else "<="} l.bucket AND {in_window}{wf}
            ORDER BY w.{m}_b{"" if up else " DESC"}, w.{m}{"" if up else " DESC"}
            OFFSET l.skip LIMIT l.take)"""
        for i, m in enumerate(MEASURES)
        for up in (True, False)
    )
    threshold_bucket = bucket_of("t.t")
    return f"""
    WITH direct AS ({direct}),
    hist AS (
        SELECT process_key, activity_id, measure, bucket,
               CAST(SUM(n) AS BIGINT) AS n, CAST(SUM(total_us) AS BIGINT) AS total_us,
               MAX(high) AS high
        FROM (
            SELECT b.process_key, b.activity_id, b.measure, b.bucket, b.n, b.total_us, b.high
            FROM {facts}bucket b
            WHERE b.day >= %(first_day)s AND b.day < %(end_day)s{bf}
            UNION ALL
            SELECT d.process_key, d.activity_id, m.measure, {bucket_case("d.")}, 1,
                   {micros(measure_value("m.measure", "d."))}, {measure_value("m.measure", "d.")}
            FROM direct d {unpivot("d", due=due)}
        ) AS u
        GROUP BY process_key, activity_id, measure, bucket
    ),
    cum AS (
        SELECT h.*, CAST(SUM(n) OVER (PARTITION BY process_key, activity_id, measure
                                      ORDER BY bucket) AS BIGINT) - n AS below,
               CAST(SUM(n) OVER (PARTITION BY process_key, activity_id, measure) AS BIGINT)
                   AS cnt
        FROM hist h WHERE measure IN ({wanted_measures})
    ),
    series AS (
        SELECT process_key, activity_id, measure, CAST(SUM(n) AS BIGINT) AS cnt,
               CAST(SUM(total_us) AS BIGINT) AS total_us,
               MAX(high) AS high
        FROM hist GROUP BY process_key, activity_id, measure
    ),
    {LOCATED.format(keys="process_key, activity_id, measure", pct=pct)},
    thresholds AS (
        SELECT s.process_key, s.activity_id, t.name, t.t
        FROM reports_activitysla s
        CROSS JOIN LATERAL (VALUES ('warning', CAST(s.warning_seconds AS DOUBLE PRECISION)),
                                   ('breach', CAST(s.breach_seconds AS DOUBLE PRECISION)))
             AS t(name, t)
        WHERE t.t IS NOT NULL AND NOT s.business_time{"" if due else " AND 1 = 0"}{_filters("s", process_key=process_key, version_id=None)}
    )
    SELECT 'series' AS row, process_key, activity_id, measure, '' AS name,
           CAST(cnt AS DOUBLE PRECISION) AS a, CAST(NULL AS DOUBLE PRECISION) AS b, high AS c,
           total_us AS s
    FROM series
    UNION ALL
    SELECT 'pct', l.process_key, l.activity_id, l.measure, l.name,
           l.h, MIN(x.v), MAX(x.v), NULL
    FROM located l CROSS JOIN LATERAL ({walks}) AS x
    GROUP BY l.process_key, l.activity_id, l.measure, l.name, l.h
    UNION ALL
    SELECT 'le', t.process_key, t.activity_id, 0, t.name,
           CAST(t.below + CASE
               WHEN t.t > 0 AND t.t >= EXP((t.tb - 1000000 + 0.5) / {BUCKETS_PER_E}.0)
               THEN t.n_tb - (SELECT COUNT(*) FROM reports_taskfact w
                              WHERE w.process_key = t.process_key
                                AND w.activity_id = t.activity_id AND w.duration_b = t.tb
                                AND w.duration > t.t AND {in_window}{wf})
               ELSE (SELECT COUNT(*) FROM reports_taskfact w
                     WHERE w.process_key = t.process_key AND w.activity_id = t.activity_id
                       AND w.duration_b = t.tb AND w.duration <= t.t AND {in_window}{wf})
               END AS DOUBLE PRECISION),
           NULL, NULL, NULL
    FROM (
        SELECT t.process_key, t.activity_id, t.name, t.t, t.tb,
               COALESCE(SUM(CASE WHEN h.bucket < t.tb THEN h.n END), 0) AS below,
               COALESCE(SUM(CASE WHEN h.bucket = t.tb THEN h.n END), 0) AS n_tb
        FROM (SELECT t.*, {threshold_bucket} AS tb FROM thresholds t) AS t
        LEFT JOIN hist h ON h.process_key = t.process_key AND h.activity_id = t.activity_id
              AND h.measure = 0 AND h.bucket <= t.tb
        GROUP BY t.process_key, t.activity_id, t.name, t.t, t.tb
    ) AS t"""


BUSINESS_COUNTS = ("sla_met", "sla_warned", "sla_breached")


def _business_sla_sql(*, process_key: str, version_id: int | None) -> str:
    """SLA counts of the activities whose SLA is in business time (decision 041): the buckets
    are of wall-clock durations, so these facts are counted directly on their stored
    ``business_duration`` (a NULL one, not yet computed, is not judged)."""
    return f"""
    SELECT f.process_key, f.activity_id,
           SUM(CASE WHEN f.business_duration <= COALESCE(s.warning_seconds, s.breach_seconds)
               THEN 1 ELSE 0 END) AS sla_met,
           SUM(CASE WHEN s.warning_seconds IS NOT NULL AND f.business_duration > s.warning_seconds
                     AND f.business_duration <= s.breach_seconds THEN 1 ELSE 0 END) AS sla_warned,
           SUM(CASE WHEN f.business_duration > s.breach_seconds THEN 1 ELSE 0 END)
               AS sla_breached
    FROM reports_activitysla s
    JOIN reports_taskfact f ON f.process_key = s.process_key AND f.activity_id = s.activity_id
    WHERE s.business_time AND f.created_at >= %(since)s AND f.created_at < %(until)s
          {_filters("f", process_key=process_key, version_id=version_id)}
    GROUP BY f.process_key, f.activity_id"""


def activity_bucket_rows(
    *,
    since: datetime,
    until: datetime,
    process_key: str = "",
    version_id: int | None = None,
    measures: Sequence[str] = MEASURES,
    kind: str = "task",
) -> list[dict[str, Any]]:
    """Per (process, activity) of the completed-task (``kind="job"``: finished-step) facts
    created in ``[since, until)``: the
    same keys as ``percentile_query`` over ``selectors.fact_source`` with ``FACT_SLA_COUNTS``
    (``completed``, ``sla_*``, and ``<measure>_n/_sum_us/_max/_p50..``), percentiles only for
    ``measures`` (the others keep count and mean)."""
    first, end = day_bounds(since, until)
    rows = fetch(
        _bucket_sql(process_key=process_key, version_id=version_id, measures=measures, kind=kind),
        period_params(since, until, first, end, process_key=process_key, version_id=version_id),
    )
    out: dict[tuple[str, str], dict[str, Any]] = {}
    le: dict[tuple[str, str], dict[str, int]] = {}
    business = (
        {}
        if kind == "job"
        else {
            (r["process_key"], r["activity_id"]): r
            for r in fetch(
                _business_sla_sql(process_key=process_key, version_id=version_id),
                period_params(
                    since, until, first, end, process_key=process_key, version_id=version_id
                ),
            )
        }
    )

    def series(r: dict[str, Any]) -> dict[str, Any]:
        return out.setdefault(
            (r["process_key"], r["activity_id"]),
            {"process_key": r["process_key"], "activity_id": r["activity_id"]},
        )

    for r in rows:
        key, m = (r["process_key"], r["activity_id"]), int(r["measure"])
        if r["row"] == "series":
            n = int(r["a"])
            if m < 3:
                name = MEASURES[m]
                series(r).update({f"{name}_n": n, f"{name}_sum_us": int(r["s"])})
                if name in measures:  # as percentile_query's averages-only measures
                    series(r)[f"{name}_max"] = r["c"]
            else:
                series(r)["due_met" if m == DUE_MET else "due_breached"] = n
        elif r["row"] == "pct":
            h, lo_v, hi_v = r["a"], r["b"], r["c"]
            lo = float(int(h))  # h >= 0: truncation is floor
            value = lo_v if h == lo else lo_v + (h - lo) * (hi_v - lo_v)
            series(r)[f"{MEASURES[m]}_{r['name']}"] = value
        else:
            le.setdefault(key, {})[r["name"]] = int(r["a"])
    result = []
    for key, row in out.items():
        if "duration_n" not in row:
            continue  # only due-date rows: impossible (every fact has a duration)
        for measure in MEASURES:
            for name, _ in PERCENTILES:
                row.setdefault(f"{measure}_{name}", None)
        n = row["duration_n"]
        row["completed"] = n
        if kind == "job":  # steps have no SLA (as the sorted path: no SLA counts)
            pass
        elif key in business:  # judged in business time: the stored working seconds
            row.update({k: int(business[key][k] or 0) for k in BUSINESS_COUNTS})
        elif key in le:  # judged against the activity's SLA
            breach = le[key]["breach"]
            warning = le[key].get("warning")
            row["sla_met"] = breach if warning is None else warning
            row["sla_warned"] = 0 if warning is None else breach - warning
            row["sla_breached"] = n - breach
        else:  # each task against its own due date
            row["sla_met"] = row.pop("due_met", 0)
            row["sla_warned"] = 0
            row["sla_breached"] = row.pop("due_breached", 0)
        row.pop("due_met", None)
        row.pop("due_breached", None)
        result.append(row)
    return result


def sla_breaches_all_time() -> list[dict[str, Any]]:
    """Per (process, activity): completed tasks ever breached (``duration > breach``, the
    activity's SLA or else the task's due date) - the ``flowgate_sla_breaches`` counter - from
    the per-day buckets (every day), the walk of the threshold's bucket and the pending facts."""
    tb = bucket_of("s.breach_seconds")
    sql = f"""
    SELECT process_key, activity_id, SUM(n) AS n FROM (
        SELECT b.process_key, b.activity_id, b.n
        FROM reports_taskfactbucket b
        LEFT JOIN reports_activitysla s
               ON s.process_key = b.process_key AND s.activity_id = b.activity_id
        WHERE (s.id IS NULL AND b.measure = {DUE_BREACHED})
           OR (s.id IS NOT NULL AND NOT s.business_time AND b.measure = 0 AND b.bucket > {tb})
        UNION ALL
        SELECT s.process_key, s.activity_id,
               (SELECT COUNT(*) FROM reports_taskfact w
                WHERE w.process_key = s.process_key AND w.activity_id = s.activity_id
                  AND w.duration_b = {tb} AND w.duration > s.breach_seconds
                  AND NOT EXISTS (SELECT 1 FROM reports_taskfactpending p
                                  WHERE p.fact_id = w.id))
        FROM reports_activitysla s WHERE NOT s.business_time
        UNION ALL
        SELECT f.process_key, f.activity_id, 1
        FROM reports_taskfactpending p JOIN reports_taskfact f ON f.id = p.fact_id
        LEFT JOIN reports_activitysla s
               ON s.process_key = f.process_key AND s.activity_id = f.activity_id
        WHERE (s.id IS NULL OR NOT s.business_time)
          AND f.duration > COALESCE(s.breach_seconds, f.due_s)
        UNION ALL
        -- business-time SLAs (decision 041): every fact, on its stored working seconds
        SELECT f.process_key, f.activity_id, 1
        FROM reports_activitysla s
        JOIN reports_taskfact f ON f.process_key = s.process_key AND f.activity_id = s.activity_id
        WHERE s.business_time AND f.business_duration > s.breach_seconds
    ) AS x GROUP BY process_key, activity_id HAVING SUM(n) > 0
    ORDER BY process_key, activity_id"""
    return fetch(sql, {})
