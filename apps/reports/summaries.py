# ruff: noqa: S608 - SQL text is built from constants only; every user value is a bound parameter
"""Per-day bucket counts of the completed-task facts, and the exact per-activity figures read
from them (decision 019).

``fact_buckets_summarise`` (beat, and before each snapshot refresh) counts the facts queued in
``TaskFactPending`` into ``TaskFactBucket``: per UTC day of creation, version and activity, how many
values of each measure fall into each log bucket (``sql.bucket_of``), with their sum and maximum.

``activity_bucket_rows`` answers a period ``[since, until)`` exactly, without sorting a month:

- the counts, sums and maxima are the buckets of the period's whole UTC days plus the facts of
  its partial first and last days and the facts still pending (each fact counted once);
- a percentile (``percentile_cont``: ``h = p (n - 1)``, the values at ranks ``floor h`` and the
  next one) is located by the cumulative bucket counts, then read by walking the
  (process, activity, bucket, value) index of the facts from the start of that bucket with
  ``OFFSET rank - below`` (buckets are about 13 % wide: a few hundred index entries);
- SLA counts ``duration <= threshold`` add the buckets below the threshold's bucket to the facts
  of that bucket up to the threshold; tasks judged against their own due date (no
  ``ActivitySla``) are counted per day as met / breached (measures 3 and 4).

PostgreSQL only (a LATERAL walk with an OFFSET taken from the outer row); SQLite, the embedded
default with small histories, keeps the straightforward query (same numbers, tests compare them).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any

from django.db import connection, transaction

from apps.reports.sql import BUCKETS_PER_E, PERCENTILES, bucket_of, fetch, is_postgres, micros

MEASURES = ("duration", "waiting", "working")
DUE_MET, DUE_BREACHED = 3, 4
SUMMARY_BATCH = 200_000


def _value(measure: str, prefix: str = "") -> str:
    """CASE over the measure number: the fact's value of that measure (0 for the due counts)."""
    whens = " ".join(f"WHEN {i} THEN {prefix}{m}" for i, m in enumerate(MEASURES))
    return f"CASE {measure} {whens} ELSE 0 END"


def _unpivot(alias: str, *, due: bool = True) -> str:
    """FROM tail turning each fact row into one row per measure (and its due-date verdict)."""
    if not due:
        return "CROSS JOIN (VALUES (0), (1), (2)) AS m(measure)"
    return (
        f"CROSS JOIN (VALUES (0), (1), (2), ({DUE_MET}), ({DUE_BREACHED})) AS m(measure)"
        f" WHERE m.measure < 3"
        f" OR (m.measure = {DUE_MET} AND {alias}.due_s IS NOT NULL"
        f" AND {alias}.duration <= {alias}.due_s)"
        f" OR (m.measure = {DUE_BREACHED} AND {alias}.due_s IS NOT NULL"
        f" AND {alias}.duration > {alias}.due_s)"
    )


def _bucket_case(prefix: str) -> str:
    whens = " ".join(f"WHEN {i} THEN {prefix}{m}_b" for i, m in enumerate(MEASURES))
    return f"CASE m.measure {whens} ELSE 0 END"


_SUMMARISE = f"""
    WITH moved AS (
        DELETE FROM reports_taskfactpending
        WHERE fact_id IN (SELECT fact_id FROM reports_taskfactpending
                          ORDER BY fact_id LIMIT %(batch)s FOR UPDATE SKIP LOCKED)
        RETURNING fact_id
    ), by_activity AS (
    INSERT INTO reports_taskfactbucket
        (day, process_key, version_id, activity_id, measure, bucket, n, total_us, high)
    SELECT CAST(f.created_at AT TIME ZONE 'UTC' AS DATE), f.process_key, f.version_id,
           f.activity_id, m.measure, {_bucket_case("f.")}, COUNT(*),
           SUM({micros(_value("m.measure", "f."))}), MAX({_value("m.measure", "f.")})
    FROM moved JOIN reports_taskfact f ON f.id = moved.fact_id {_unpivot("f")}
    GROUP BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (day, process_key, version_id, activity_id, measure, bucket) DO UPDATE
    SET n = reports_taskfactbucket.n + EXCLUDED.n,
        total_us = reports_taskfactbucket.total_us + EXCLUDED.total_us,
        high = GREATEST(reports_taskfactbucket.high, EXCLUDED.high)
    RETURNING 1
    ), by_user AS (
    INSERT INTO reports_taskfactuserbucket
        (day, process_key, user_id, bucket, n, total_us, high)
    SELECT CAST(f.completed_at AT TIME ZONE 'UTC' AS DATE), f.process_key, f.completed_by_id,
           f.duration_b, COUNT(*), SUM({micros("f.duration")}), MAX(f.duration)
    FROM moved JOIN reports_taskfact f ON f.id = moved.fact_id
    WHERE f.completed_by_id IS NOT NULL
    GROUP BY 1, 2, 3, 4
    ON CONFLICT (day, process_key, user_id, bucket) DO UPDATE
    SET n = reports_taskfactuserbucket.n + EXCLUDED.n,
        total_us = reports_taskfactuserbucket.total_us + EXCLUDED.total_us,
        high = GREATEST(reports_taskfactuserbucket.high, EXCLUDED.high)
    RETURNING 1
    )
    SELECT (SELECT COUNT(*) FROM by_activity), (SELECT COUNT(*) FROM by_user)"""


_SUMMARISE_JOBS = f"""
    WITH moved AS (
        DELETE FROM reports_jobfactpending
        WHERE fact_id IN (SELECT fact_id FROM reports_jobfactpending
                          ORDER BY fact_id LIMIT %(batch)s FOR UPDATE SKIP LOCKED)
        RETURNING fact_id
    )
    INSERT INTO reports_jobfactbucket
        (day, process_key, version_id, activity_id, measure, bucket, n, total_us, high)
    SELECT CAST(f.created_at AT TIME ZONE 'UTC' AS DATE), f.process_key, f.version_id,
           f.activity_id, m.measure, {_bucket_case("f.")}, COUNT(*),
           SUM({micros(_value("m.measure", "f."))}), MAX({_value("m.measure", "f.")})
    FROM moved JOIN reports_jobfact f ON f.id = moved.fact_id {_unpivot("f", due=False)}
    GROUP BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (day, process_key, version_id, activity_id, measure, bucket) DO UPDATE
    SET n = reports_jobfactbucket.n + EXCLUDED.n,
        total_us = reports_jobfactbucket.total_us + EXCLUDED.total_us,
        high = GREATEST(reports_jobfactbucket.high, EXCLUDED.high)"""


def fact_buckets_summarise(*, batch: int = SUMMARY_BATCH) -> int:
    """Count the pending facts (``TaskFactPending``) into ``TaskFactBucket``, ``batch`` per
    statement; returns how many. Safe to run twice or concurrently: each pending row is locked
    and deleted by the statement that counts its fact. A no-op in SQLite, whose reports read
    the facts directly."""
    if not is_postgres():
        return 0
    moved = 0
    for queue, statement in (
        ("reports_taskfactpending", _SUMMARISE),
        ("reports_jobfactpending", _SUMMARISE_JOBS),
    ):
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT COUNT(*) FROM (SELECT 1 FROM {queue} LIMIT %s) AS p", [batch]
                )
                pending = cursor.fetchone()[0]
                if pending:
                    cursor.execute(statement, {"batch": batch})
                    moved += pending
            if pending < batch:
                break
    return moved


# --- the period's figures -------------------------------------------------------------------


def day_bounds(since: datetime, until: datetime) -> tuple[datetime, datetime]:
    """The whole UTC days inside ``[since, until)`` as ``[first, end)`` (empty: both ``until``)."""
    since_utc, until_utc = since.astimezone(UTC), until.astimezone(UTC)
    first = datetime.combine(since_utc.date(), time.min, tzinfo=UTC)
    if first < since_utc:
        first += timedelta(days=1)
    end = datetime.combine(until_utc.date(), time.min, tzinfo=UTC)
    if first >= end:
        return until, until
    return first, end


# For each series and percentile: the bucket holding rank lo = floor(p (n - 1)) and the one
# holding hi = min(lo + 1, n - 1), found by filtering the cumulative counts (no range join, whose
# row estimates led the planner astray); the walk goes up from lo's bucket or down from hi's,
# whichever skips fewer index entries.
_LOCATED = """located AS (
        SELECT {keys}, name, h, lo, hi,
               MAX(CASE WHEN below <= lo AND lo < below + n THEN lo - below END)
                   <= MAX(CASE WHEN below <= hi AND hi < below + n THEN below + n - 1 - hi END)
                   AS up,
               CASE WHEN MAX(CASE WHEN below <= lo AND lo < below + n THEN lo - below END)
                         <= MAX(CASE WHEN below <= hi AND hi < below + n
                                     THEN below + n - 1 - hi END)
                    THEN MAX(CASE WHEN below <= lo AND lo < below + n THEN bucket END)
                    ELSE MAX(CASE WHEN below <= hi AND hi < below + n THEN bucket END)
               END AS bucket,
               LEAST(MAX(CASE WHEN below <= lo AND lo < below + n THEN lo - below END),
                     MAX(CASE WHEN below <= hi AND hi < below + n THEN below + n - 1 - hi END))
                   AS skip,
               hi - lo + 1 AS take
        FROM (
            SELECT c.*, p.name, p.frac * CAST(c.cnt - 1 AS DOUBLE PRECISION) AS h,
                   CAST(FLOOR(p.frac * CAST(c.cnt - 1 AS DOUBLE PRECISION)) AS BIGINT) AS lo,
                   LEAST(CAST(FLOOR(p.frac * CAST(c.cnt - 1 AS DOUBLE PRECISION)) AS BIGINT) + 1,
                         c.cnt - 1) AS hi
            FROM cum c CROSS JOIN (VALUES {pct}) AS p(name, frac)
        ) AS x
        WHERE (below <= lo AND lo < below + n) OR (below <= hi AND hi < below + n)
        GROUP BY {keys}, name, h, lo, hi
    )"""


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
            SELECT d.process_key, d.activity_id, m.measure, {_bucket_case("d.")}, 1,
                   {micros(_value("m.measure", "d."))}, {_value("m.measure", "d.")}
            FROM direct d {_unpivot("d", due=due)}
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
    {_LOCATED.format(keys="process_key, activity_id, measure", pct=pct)},
    thresholds AS (
        SELECT s.process_key, s.activity_id, t.name, t.t
        FROM reports_activitysla s
        CROSS JOIN LATERAL (VALUES ('warning', CAST(s.warning_seconds AS DOUBLE PRECISION)),
                                   ('breach', CAST(s.breach_seconds AS DOUBLE PRECISION)))
             AS t(name, t)
        WHERE t.t IS NOT NULL{"" if due else " AND 1 = 0"}{_filters("s", process_key=process_key, version_id=None)}
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
        {
            "since": since,
            "until": until,
            "first": first,
            "end": end,
            "first_day": first.date(),
            "end_day": end.date(),
            "process_key": process_key,
            "version_id": version_id,
        },
    )
    out: dict[tuple[str, str], dict[str, Any]] = {}
    le: dict[tuple[str, str], dict[str, int]] = {}

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
        for m in MEASURES:
            for name, _ in PERCENTILES:
                row.setdefault(f"{m}_{name}", None)
        n = row["duration_n"]
        row["completed"] = n
        if kind == "job":  # steps have no SLA (as the sorted path: no SLA counts)
            pass
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
    {_LOCATED.format(keys="user_id", pct=pct)}
    SELECT 'series' AS row, user_id, '' AS name, CAST(cnt AS DOUBLE PRECISION) AS a,
           CAST(NULL AS DOUBLE PRECISION) AS b, high AS c, total_us AS s
    FROM series
    UNION ALL
    SELECT 'pct', l.user_id, l.name, l.h, MIN(x.v), MAX(x.v), NULL
    FROM located l CROSS JOIN LATERAL ({walks}) AS x
    GROUP BY l.user_id, l.name, l.h"""
    rows = fetch(
        sql,
        {
            "since": since,
            "until": until,
            "first": first,
            "end": end,
            "first_day": first.date(),
            "end_day": end.date(),
            "process_key": process_key,
        },
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
           OR (s.id IS NOT NULL AND b.measure = 0 AND b.bucket > {tb})
        UNION ALL
        SELECT s.process_key, s.activity_id,
               (SELECT COUNT(*) FROM reports_taskfact w
                WHERE w.process_key = s.process_key AND w.activity_id = s.activity_id
                  AND w.duration_b = {tb} AND w.duration > s.breach_seconds
                  AND NOT EXISTS (SELECT 1 FROM reports_taskfactpending p
                                  WHERE p.fact_id = w.id))
        FROM reports_activitysla s
        UNION ALL
        SELECT f.process_key, f.activity_id, 1
        FROM reports_taskfactpending p JOIN reports_taskfact f ON f.id = p.fact_id
        LEFT JOIN reports_activitysla s
               ON s.process_key = f.process_key AND s.activity_id = f.activity_id
        WHERE f.duration > COALESCE(s.breach_seconds, f.due_s)
    ) AS x GROUP BY process_key, activity_id HAVING SUM(n) > 0
    ORDER BY process_key, activity_id"""
    return fetch(sql, {})
