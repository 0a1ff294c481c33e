# ruff: noqa: S608 - SQL text is built from constants only; every user value is a bound parameter
"""SLA and bottleneck figures, aggregated in the database from the engine's and the inbox's rows.

Every figure is one SQL aggregate (see sql.py for the percentile definition shared by PostgreSQL
and SQLite); Python only reshapes the handful of grouped rows that come back.

Definitions (docs/reports.md):
- an instance *started* in the period if created in it; its duration is ``ended_at - created_at``
  of completed instances; *failing* = has an open incident;
- a human task's duration is ``completed_at - created_at``, split into *waiting*
  (until claimed, or until completed when never claimed) and *working* (claimed -> completed);
  a service step (job) waits ``created_at -> started_at`` and works ``started_at -> finished_at``;
- SLA: met when ``duration <= warning`` (or ``<= breach`` without a warning threshold), warned
  when ``warning < duration <= breach``, breached when ``duration > breach``; targets come from
  ActivitySla, else the task's own due date is its breach deadline;
- open tasks are judged now, whatever the period: *breached* when older than the breach
  threshold, *at risk* when not yet breached but breaching within ``risk_hours``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from apps.accounts.models import User
from apps.audit.actions import AuditAction
from apps.reports.models import ActivitySla
from apps.reports.sql import (
    as_float,
    bucket_key,
    bucket_label,
    fetch,
    is_postgres,
    json_text_elements,
    micros,
    percentile_query,
    seconds_between,
    stats,
)
from apps.reports.summaries import activity_bucket_rows, user_bucket_rows

DEFAULT_PERIOD = timedelta(days=30)
MEASURES = ("duration", "waiting", "working")
DEFAULT_RISK_HOURS = 4


@dataclass(frozen=True)
class Period:
    since: datetime
    until: datetime

    @classmethod
    def around(
        cls,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        now: datetime | None = None,
    ) -> Period:
        until = until or now or timezone.now()
        return cls(since=since or until - DEFAULT_PERIOD, until=until)


def _rate(part: int, whole: int) -> float | None:
    return None if not whole else round(part / whole, 4)


def _process_filter(column: str, process_key: str) -> str:
    return f" AND {column} = %(process_key)s" if process_key else ""


def _params(period: Period, **extra: Any) -> dict[str, Any]:
    return {"since": period.since, "until": period.until, **extra}


# --- per process ---------------------------------------------------------------------------------


def process_summary(*, period: Period, process_key: str = "") -> list[dict[str, Any]]:
    """Per process: instances started in the period by status, and end-to-end durations."""
    where = _process_filter("i.process_key", process_key)
    source = f"""
        SELECT i.process_key AS process_key, i.status AS status,
               CASE WHEN i.status = 'completed' AND i.ended_at IS NOT NULL
                    THEN {as_float(seconds_between("i.created_at", "i.ended_at"))} END AS duration,
               CASE WHEN x.instance_id IS NOT NULL THEN 1 ELSE 0 END AS failing
        FROM engine_processinstance i
        LEFT JOIN (SELECT DISTINCT instance_id FROM engine_incident WHERE status = 'open') AS x
               ON x.instance_id = i.id
        WHERE i.created_at >= %(since)s AND i.created_at < %(until)s{where}"""
    sql = percentile_query(
        source=source,
        keys=["process_key"],
        measures=["duration"],
        extra={
            "started": "COUNT(*)",
            "completed": "SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END)",
            "running": "SUM(CASE WHEN status = 'running' THEN 1 ELSE 0 END)",
            "suspended": "SUM(CASE WHEN status = 'suspended' THEN 1 ELSE 0 END)",
            "cancelled": "SUM(CASE WHEN status = 'cancelled' THEN 1 ELSE 0 END)",
            "failing": "SUM(failing)",
        },
    )
    rows = fetch(sql, _params(period, process_key=process_key))
    return [
        {
            "process_key": row["process_key"],
            "started": int(row["started"]),
            "completed": int(row["completed"]),
            "running": int(row["running"]),
            "suspended": int(row["suspended"]),
            "cancelled": int(row["cancelled"]),
            "failing": int(row["failing"]),
            "duration": stats(row, "duration"),
        }
        for row in sorted(rows, key=lambda r: r["process_key"])
    ]


# --- per activity --------------------------------------------------------------------------------

IN_PERIOD = "{t}.created_at >= %(since)s AND {t}.created_at < %(until)s"


def _version_filter(alias: str, version_id: int | None) -> str:
    if version_id is None:
        return ""
    return (
        f" AND EXISTS (SELECT 1 FROM engine_processinstance vi WHERE vi.id = {alias}.instance_id"
        " AND vi.version_id = %(version_id)s)"
    )


def task_source(*, process_key: str = "", version_id: int | None = None) -> str:
    """Human tasks created in the period, plus every open one (judged at ``%(now)s``)."""
    created = IN_PERIOD.format(t="t")
    done = f"t.status = 'completed' AND t.completed_at IS NOT NULL AND {created}"
    claimed = "COALESCE(t.claimed_at, t.completed_at)"
    return f"""
        SELECT t.process_key AS process_key, t.activity_id AS activity_id,
               'user_task' AS kind,
               CASE WHEN {done} THEN 1 ELSE 0 END AS is_done,
               CASE WHEN t.status = 'open' THEN 1 ELSE 0 END AS is_open,
               CASE WHEN {done} THEN {seconds_between("t.created_at", "t.completed_at")} END
                   AS duration,
               CASE WHEN {done} THEN {seconds_between("t.created_at", claimed)} END AS waiting,
               CASE WHEN {done} THEN {seconds_between(claimed, "t.completed_at")} END AS working,
               CASE WHEN t.status = 'open' THEN {seconds_between("t.created_at", "%(now)s")} END
                   AS open_age,
               COALESCE(s.breach_seconds, {seconds_between("t.created_at", "t.due_at")})
                   AS breach_s,
               s.warning_seconds AS warning_s
        FROM inbox_humantask t
        LEFT JOIN reports_activitysla s
               ON s.process_key = t.process_key AND s.activity_id = t.activity_id
        WHERE (({created}) OR t.status = 'open'){_process_filter("t.process_key", process_key)}
              {_version_filter("t", version_id)}"""


def job_source(*, process_key: str = "", version_id: int | None = None) -> str:
    """Service steps (jobs) created in the period, plus every unfinished one."""
    created = IN_PERIOD.format(t="j")
    done = f"j.status = 'done' AND j.finished_at IS NOT NULL AND {created}"
    started = "COALESCE(j.started_at, j.finished_at)"
    unfinished = "j.status IN ('pending', 'running', 'incident')"
    return f"""
        SELECT i.process_key AS process_key, j.activity_id AS activity_id,
               'service_task' AS kind,
               CASE WHEN {done} THEN 1 ELSE 0 END AS is_done,
               CASE WHEN {unfinished} THEN 1 ELSE 0 END AS is_open,
               CASE WHEN {done} THEN {as_float(seconds_between("j.created_at", "j.finished_at"))}
                   END AS duration,
               CASE WHEN {done} THEN {as_float(seconds_between("j.created_at", started))} END
                   AS waiting,
               CASE WHEN {done} THEN {as_float(seconds_between(started, "j.finished_at"))} END
                   AS working,
               CAST(NULL AS DOUBLE PRECISION) AS open_age,
               CAST(NULL AS DOUBLE PRECISION) AS breach_s,
               CAST(NULL AS DOUBLE PRECISION) AS warning_s
        FROM engine_job j JOIN engine_processinstance i ON i.id = j.instance_id
        WHERE (({created}) OR {unfinished}){_process_filter("i.process_key", process_key)}
              {" AND i.version_id = %(version_id)s" if version_id is not None else ""}"""


SLA_COUNTS = {
    "completed": "SUM(is_done)",
    "open": "SUM(is_open)",
    "sla_met": "SUM(CASE WHEN duration IS NOT NULL AND breach_s IS NOT NULL"
    " AND duration <= COALESCE(warning_s, breach_s) THEN 1 ELSE 0 END)",
    "sla_warned": "SUM(CASE WHEN duration IS NOT NULL AND breach_s IS NOT NULL"
    " AND warning_s IS NOT NULL AND duration > warning_s AND duration <= breach_s"
    " THEN 1 ELSE 0 END)",
    "sla_breached": "SUM(CASE WHEN duration IS NOT NULL AND breach_s IS NOT NULL"
    " AND duration > breach_s THEN 1 ELSE 0 END)",
    "open_breached": "SUM(CASE WHEN open_age IS NOT NULL AND breach_s IS NOT NULL"
    " AND open_age > breach_s THEN 1 ELSE 0 END)",
    "open_at_risk": "SUM(CASE WHEN open_age IS NOT NULL AND breach_s IS NOT NULL"
    " AND open_age <= breach_s AND open_age + %(risk_s)s >= breach_s THEN 1 ELSE 0 END)",
}


def _sla_block(row: dict[str, Any]) -> dict[str, Any]:
    met, warned, breached = (
        int(row.get(k) or 0) for k in ("sla_met", "sla_warned", "sla_breached")
    )
    judged = met + warned + breached
    return {
        "met": met,
        "warned": warned,
        "breached": breached,
        "judged": judged,
        "met_rate": _rate(met, judged),
        "warned_rate": _rate(warned, judged),
        "breached_rate": _rate(breached, judged),
        "open_at_risk": int(row.get("open_at_risk") or 0),
        "open_breached": int(row.get("open_breached") or 0),
    }


FACT_SLA_COUNTS = {
    "completed": "COUNT(*)",
    "sla_met": "SUM(CASE WHEN breach_s IS NOT NULL"
    " AND duration <= COALESCE(warning_s, breach_s) THEN 1 ELSE 0 END)",
    "sla_warned": "SUM(CASE WHEN breach_s IS NOT NULL AND warning_s IS NOT NULL"
    " AND duration > warning_s AND duration <= breach_s THEN 1 ELSE 0 END)",
    "sla_breached": "SUM(CASE WHEN breach_s IS NOT NULL AND duration > breach_s THEN 1 ELSE 0 END)",
}


def fact_source(*, process_key: str = "", version_id: int | None = None) -> str:
    """Completed human tasks created in the period, from the fact table (decision 017): the
    covering index on (process or version, activity, created) gives them already grouped."""
    where = IN_PERIOD.format(t="f")
    if version_id is not None:
        where += " AND f.version_id = %(version_id)s"
    where += _process_filter("f.process_key", process_key)
    return f"""
        SELECT f.process_key AS process_key, f.activity_id AS activity_id,
               f.duration AS duration, f.waiting AS waiting, f.working AS working,
               COALESCE(s.breach_seconds, f.due_s) AS breach_s, s.warning_seconds AS warning_s
        FROM reports_taskfact f
        LEFT JOIN reports_activitysla s
               ON s.process_key = f.process_key AND s.activity_id = f.activity_id
        WHERE {where}"""


def job_fact_source(*, process_key: str = "", version_id: int | None = None) -> str:
    """Finished service steps created in the period, from the job facts (decision 017)."""
    where = IN_PERIOD.format(t="f")
    if version_id is not None:
        where += " AND f.version_id = %(version_id)s"
    where += _process_filter("f.process_key", process_key)
    return f"""
        SELECT f.process_key AS process_key, f.activity_id AS activity_id,
               f.duration AS duration, f.waiting AS waiting, f.working AS working
        FROM reports_jobfact f WHERE {where}"""


def open_task_source(*, process_key: str = "", version_id: int | None = None) -> str:
    """Human tasks open now (judged at ``%(now)s``), whenever they were created."""
    return f"""
        SELECT t.process_key AS process_key, t.activity_id AS activity_id,
               {seconds_between("t.created_at", "%(now)s")} AS open_age,
               COALESCE(s.breach_seconds, {seconds_between("t.created_at", "t.due_at")})
                   AS breach_s
        FROM inbox_humantask t
        LEFT JOIN reports_activitysla s
               ON s.process_key = t.process_key AND s.activity_id = t.activity_id
        WHERE t.status = 'open'{_process_filter("t.process_key", process_key)}
              {_version_filter("t", version_id)}"""


def _empty_measures(row: dict[str, Any]) -> dict[str, Any]:
    for m in ("duration", "waiting", "working"):
        row.setdefault(f"{m}_n", 0)
        for name in ("sum_us", "max", "p50", "p90", "p95", "p99"):
            row.setdefault(f"{m}_{name}", None)
    return row


def activity_rows(
    *,
    period: Period,
    process_key: str = "",
    risk_hours: float = DEFAULT_RISK_HOURS,
    now: datetime | None = None,
    version_id: int | None = None,
    facts: bool = True,
    measures: Sequence[str] = MEASURES,
    buckets: bool = True,
) -> list[dict[str, Any]]:
    """The grouped rows behind ``activity_summary``: one per (process, activity, kind).

    With ``facts`` (the default), completed human tasks and finished steps come from the fact
    tables (grouped by their covering indexes), open tasks and unfinished steps from two small
    counts; with ``facts=False`` everything is computed from the inbox's and the engine's rows in
    one pass (the reference the tests compare the fact path with). In PostgreSQL the completed
    tasks' figures come from the per-day bucket counts and index walks (``buckets``, decision
    019); ``buckets=False`` sorts the period's facts (the reference for that path)."""
    params = _params(
        period,
        now=now or timezone.now(),
        risk_s=float(risk_hours) * 3600,
        process_key=process_key,
        version_id=version_id,
    )
    if not facts:
        return fetch(
            percentile_query(
                source=f"{task_source(process_key=process_key, version_id=version_id)}"
                f" UNION ALL {job_source(process_key=process_key, version_id=version_id)}",
                keys=["process_key", "activity_id", "kind"],
                measures=["duration", "waiting", "working"],
                extra=SLA_COUNTS,
            ),
            params,
        )
    merged: dict[tuple[str, str, str], dict[str, Any]] = {}
    # measures without percentiles still get their count and mean (the heatmap's waiting time)
    averages_only = {
        f"{m}_{name}": f"{agg}({m if name == 'n' else micros(m)})"
        for m in MEASURES
        if m not in measures
        for name, agg in (("n", "COUNT"), ("sum_us", "SUM"))
    }
    zero_open = {"open": 0, "open_at_risk": 0, "open_breached": 0}
    for kind, source, extra in (
        ("user_task", fact_source, FACT_SLA_COUNTS),
        ("service_task", job_fact_source, {"completed": "COUNT(*)"}),
    ):
        if buckets and is_postgres():
            for r in activity_bucket_rows(
                since=period.since,
                until=period.until,
                process_key=process_key,
                version_id=version_id,
                measures=measures,
                kind="task" if kind == "user_task" else "job",
            ):
                merged[(r["process_key"], r["activity_id"], kind)] = _empty_measures(
                    {**r, "kind": kind, **zero_open}
                )
            continue
        grouped = fetch(
            percentile_query(
                source=source(process_key=process_key, version_id=version_id),
                keys=["process_key", "activity_id"],
                measures=list(measures),
                extra={**extra, **averages_only},
            ),
            params,
        )
        for r in grouped:
            merged[(r["process_key"], r["activity_id"], kind)] = _empty_measures(
                {**r, "kind": kind, **zero_open}
            )

    def row_for(key: tuple[str, str, str]) -> dict[str, Any]:
        return merged.setdefault(
            key,
            _empty_measures(
                {
                    "process_key": key[0],
                    "activity_id": key[1],
                    "kind": key[2],
                    "completed": 0,
                    "sla_met": 0,
                    "sla_warned": 0,
                    "sla_breached": 0,
                }
            ),
        )

    unfinished = fetch(
        f"""SELECT i.process_key AS process_key, j.activity_id AS activity_id, COUNT(*) AS open
            FROM engine_job j JOIN engine_processinstance i ON i.id = j.instance_id
            WHERE j.status IN ('pending', 'running', 'incident')
                  {_process_filter("i.process_key", process_key)}
                  {" AND i.version_id = %(version_id)s" if version_id is not None else ""}
            GROUP BY i.process_key, j.activity_id""",
        params,
    )
    for r in unfinished:
        row_for((r["process_key"], r["activity_id"], "service_task")).update(
            open=r["open"], open_at_risk=0, open_breached=0
        )
    waiting = fetch(
        f"""SELECT process_key, activity_id, COUNT(*) AS open,
                   {SLA_COUNTS["open_at_risk"]} AS open_at_risk,
                   {SLA_COUNTS["open_breached"]} AS open_breached
            FROM ({open_task_source(process_key=process_key, version_id=version_id)}) AS o
            GROUP BY process_key, activity_id""",
        params,
    )
    for r in waiting:
        row_for((r["process_key"], r["activity_id"], "user_task")).update(
            open=r["open"], open_at_risk=r["open_at_risk"], open_breached=r["open_breached"]
        )
    return list(merged.values())


def activity_summary(
    *,
    period: Period,
    process_key: str = "",
    risk_hours: float = DEFAULT_RISK_HOURS,
    now: datetime | None = None,
    version_id: int | None = None,
    facts: bool = True,
    measures: Sequence[str] = MEASURES,
    buckets: bool = True,
) -> list[dict[str, Any]]:
    """Per process and activity: completed/open, duration/waiting/working percentiles, SLA
    counts of tasks completed in the period and the at-risk/breached state of open ones.
    Slowest p95 first (the bottleneck). ``measures`` limits the percentiles (each one is a sort)
    to those named; the others keep their count and mean."""
    rows = activity_rows(
        period=period,
        process_key=process_key,
        risk_hours=risk_hours,
        now=now,
        version_id=version_id,
        facts=facts,
        measures=measures,
        buckets=buckets,
    )
    slas = {
        (s.process_key, s.activity_id): s
        for s in ActivitySla.objects.filter(process_key__in={r["process_key"] for r in rows})
    }
    out = []
    for row in rows:
        target = slas.get((row["process_key"], row["activity_id"]))
        out.append(
            {
                "process_key": row["process_key"],
                "activity_id": row["activity_id"],
                "kind": row["kind"],
                "completed": int(row["completed"] or 0),
                "open": int(row["open"] or 0),
                "duration": stats(row, "duration"),
                "waiting": stats(row, "waiting"),
                "working": stats(row, "working"),
                "sla_target": None
                if target is None
                else {"warning_s": target.warning_seconds, "breach_s": target.breach_seconds},
                "sla": _sla_block(row),
            }
        )
    out.sort(
        key=lambda a: (
            -(a["duration"]["p95_s"] or 0),
            -a["open"],
            a["process_key"],
            a["activity_id"],
        )
    )
    return out


def sla_by_process(activities: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """SLA counts summed over each process's activities (a few rows already aggregated)."""
    totals: dict[str, dict[str, int]] = {}
    for a in activities:
        t = totals.setdefault(
            a["process_key"],
            {
                "sla_met": 0,
                "sla_warned": 0,
                "sla_breached": 0,
                "open_at_risk": 0,
                "open_breached": 0,
            },
        )
        t["sla_met"] += a["sla"]["met"]
        t["sla_warned"] += a["sla"]["warned"]
        t["sla_breached"] += a["sla"]["breached"]
        t["open_at_risk"] += a["sla"]["open_at_risk"]
        t["open_breached"] += a["sla"]["open_breached"]
    return {key: _sla_block(t) for key, t in totals.items()}


# --- over time, per role and user, escalations ---------------------------------------------------


def throughput(*, period: Period, process_key: str = "", bucket: str = "day") -> list[dict]:
    """Instances started and completed per UTC day (or hour) of the period."""
    pf = _process_filter("process_key", process_key)
    # grouped by the truncated instant, formatted once per group (not once per row)
    sql = f"""
        SELECT {bucket_label("b.bucket", bucket=bucket)} AS bucket, SUM(started) AS started,
               SUM(completed) AS completed FROM (
            SELECT {bucket_key("created_at", bucket=bucket)} AS bucket, COUNT(*) AS started,
                   0 AS completed
            FROM engine_processinstance
            WHERE created_at >= %(since)s AND created_at < %(until)s{pf}
            GROUP BY 1
            UNION ALL
            SELECT {bucket_key("ended_at", bucket=bucket)}, 0, COUNT(*)
            FROM engine_processinstance
            WHERE status = 'completed' AND ended_at >= %(since)s AND ended_at < %(until)s{pf}
            GROUP BY 1
        ) AS b GROUP BY b.bucket ORDER BY b.bucket"""
    return [
        {"bucket": r["bucket"], "started": int(r["started"]), "completed": int(r["completed"])}
        for r in fetch(sql, _params(period, process_key=process_key))
    ]


def workload_by_role(
    *, process_key: str = "", risk_hours: float = DEFAULT_RISK_HOURS, now: datetime | None = None
) -> list[dict]:
    """Open tasks now per candidate role, with how many are at risk or breached."""
    sql = f"""
        SELECT g.value AS role, SUM(is_open) AS open_now,
               {SLA_COUNTS["open_at_risk"]} AS open_at_risk,
               {SLA_COUNTS["open_breached"]} AS open_breached
        FROM (
            SELECT t.candidate_groups AS cgroups, 1 AS is_open,
                   {seconds_between("t.created_at", "%(now)s")} AS open_age,
                   COALESCE(s.breach_seconds, {seconds_between("t.created_at", "t.due_at")})
                       AS breach_s
            FROM inbox_humantask t
            LEFT JOIN reports_activitysla s
                   ON s.process_key = t.process_key AND s.activity_id = t.activity_id
            WHERE t.status = 'open'{_process_filter("t.process_key", process_key)}
        ) AS o {json_text_elements("o.cgroups", "g")}
        GROUP BY g.value ORDER BY g.value"""
    rows = fetch(
        sql,
        {
            "now": now or timezone.now(),
            "risk_s": float(risk_hours) * 3600,
            "process_key": process_key,
        },
    )
    return [
        {
            "role": r["role"],
            "open": int(r["open_now"]),
            "open_at_risk": int(r["open_at_risk"]),
            "open_breached": int(r["open_breached"]),
        }
        for r in rows
    ]


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


def escalations(*, period: Period, process_key: str = "") -> list[dict]:
    """Escalated tasks per process in the period (from the audit trail)."""
    sql = f"""
        SELECT process_key, COUNT(*) AS escalations FROM audit_auditevent
        WHERE action = %(action)s AND time >= %(since)s AND time < %(until)s
              {_process_filter("process_key", process_key)}
        GROUP BY process_key ORDER BY process_key"""
    rows = fetch(
        sql, _params(period, action=AuditAction.TASK_ESCALATED.value, process_key=process_key)
    )
    return [{"process_key": r["process_key"], "escalations": int(r["escalations"])} for r in rows]


def sla_dashboard(
    *,
    period: Period,
    process_key: str = "",
    risk_hours: float = DEFAULT_RISK_HOURS,
    bucket: str = "day",
    now: datetime | None = None,
) -> dict[str, Any]:
    """Every figure of the SLA dashboard (the page and GET /api/v1/reports/sla/)."""
    now = now or timezone.now()
    activities = activity_summary(
        period=period, process_key=process_key, risk_hours=risk_hours, now=now
    )
    sla_totals = sla_by_process(activities)
    escalated = {
        e["process_key"]: e["escalations"]
        for e in escalations(period=period, process_key=process_key)
    }
    processes = process_summary(period=period, process_key=process_key)
    for p in processes:
        p["sla"] = sla_totals.get(p["process_key"], _sla_block({}))
        p["escalations"] = escalated.get(p["process_key"], 0)
    return {
        "period": {"since": period.since.isoformat(), "until": period.until.isoformat()},
        "process_key": process_key or None,
        "risk_hours": risk_hours,
        "processes": processes,
        "activities": activities,
        "throughput": throughput(period=period, process_key=process_key, bucket=bucket),
        "workload_by_role": workload_by_role(
            process_key=process_key, risk_hours=risk_hours, now=now
        ),
        "workload_by_user": workload_by_user(period=period, process_key=process_key),
        "escalations": escalations(period=period, process_key=process_key),
    }


# --- bottleneck heatmap --------------------------------------------------------------------------


def heatmap(*, version_id: int, period: Period, now: datetime | None = None) -> dict[str, Any]:
    """Per activity of one version: p95 duration, mean waiting time, count waiting now."""
    # Only the duration's percentiles: waiting needs its mean, working nothing (one sort, not 3).
    rows = activity_summary(period=period, version_id=version_id, now=now, measures=("duration",))
    activities = [
        {
            "activity_id": a["activity_id"],
            "kind": a["kind"],
            "completed": a["completed"],
            "p95_s": a["duration"]["p95_s"],
            "mean_waiting_s": a["waiting"]["avg_s"],
            "count_waiting": a["open"],
            "breached_rate": a["sla"]["breached_rate"],
        }
        for a in rows
    ]
    activities.sort(key=lambda a: a["activity_id"])
    return {"version_id": version_id, "activities": activities}


def slowest_instances(
    *, version_id: int, activity_id: str, now: datetime | None = None, limit: int = 10
) -> list[dict[str, Any]]:
    """The instances that spent (or are spending) longest at ``activity_id`` of a version:
    completed tasks/steps by duration and open ones by age, slowest first."""
    sql = f"""
        SELECT instance_id, business_key, duration, is_open FROM (
            SELECT t.instance_id AS instance_id, i.business_key AS business_key,
                   CASE WHEN t.status = 'open'
                        THEN {seconds_between("t.created_at", "%(now)s")}
                        ELSE {seconds_between("t.created_at", "t.completed_at")} END AS duration,
                   CASE WHEN t.status = 'open' THEN 1 ELSE 0 END AS is_open
            FROM inbox_humantask t JOIN engine_processinstance i ON i.id = t.instance_id
            WHERE i.version_id = %(version_id)s AND t.activity_id = %(activity_id)s
              AND t.status IN ('open', 'completed')
            UNION ALL
            SELECT j.instance_id, i.business_key,
                   CASE WHEN j.finished_at IS NULL
                        THEN {seconds_between("j.created_at", "%(now)s")}
                        ELSE {seconds_between("j.created_at", "j.finished_at")} END,
                   CASE WHEN j.finished_at IS NULL THEN 1 ELSE 0 END
            FROM engine_job j JOIN engine_processinstance i ON i.id = j.instance_id
            WHERE i.version_id = %(version_id)s AND j.activity_id = %(activity_id)s
              AND j.status <> 'cancelled'
        ) AS x ORDER BY duration DESC, instance_id LIMIT %(limit)s"""
    rows = fetch(
        sql,
        {
            "now": now or timezone.now(),
            "version_id": version_id,
            "activity_id": activity_id,
            "limit": int(limit),
        },
    )
    return [
        {
            "instance_id": r["instance_id"],
            "business_key": r["business_key"],
            "duration_s": round(float(r["duration"]), 3),
            "open": bool(r["is_open"]),
        }
        for r in rows
    ]
