# ruff: noqa: S608 - SQL text is built from constants only; every user value is a bound parameter
"""Per process and activity: durations, waiting and working time, SLA counts of the completed
tasks and steps, and the at-risk/breached state of the open ones (the SLA figures and the
bottleneck)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from django.utils import timezone

from apps.inbox.model_rules import rules_for_version
from apps.processes.models import ProcessVersion
from apps.reports.models import ActivitySla
from apps.reports.selectors.business import WALL_CLOCK_SLA, open_business_counts
from apps.reports.selectors.common import (
    DEFAULT_RISK_HOURS,
    MEASURES,
    Period,
    _params,
    _process_filter,
    _rate,
)
from apps.reports.sql import (
    as_float,
    fenced,
    fetch,
    is_postgres,
    micros,
    percentile_query,
    seconds_between,
    stats,
)
from apps.reports.summaries import activity_bucket_rows

IN_PERIOD = "{t}.created_at >= %(since)s AND {t}.created_at < %(until)s"

# The duration an SLA judges (decision 041): the stored working time where the activity's SLA
# (``s``) is in business time, the wall-clock duration otherwise (and without an SLA).
JUDGED = "(CASE WHEN s.business_time THEN {business} ELSE {wall} END)"


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
               CASE WHEN t.status = 'open' AND {WALL_CLOCK_SLA}
                   THEN {seconds_between("t.created_at", "%(now)s")} END AS open_age,
               CASE WHEN {done} THEN {
        JUDGED.format(
            business="(SELECT bf.business_duration FROM reports_taskfact bf"
            " WHERE bf.task_id = t.id)",
            wall=seconds_between("t.created_at", "t.completed_at"),
        )
    } END AS judged,
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
               CAST(NULL AS DOUBLE PRECISION) AS judged,
               CAST(NULL AS DOUBLE PRECISION) AS breach_s,
               CAST(NULL AS DOUBLE PRECISION) AS warning_s
        FROM engine_job j JOIN engine_processinstance i ON i.id = j.instance_id
        WHERE (({created}) OR {unfinished}) AND NOT i.is_test_run
              {_process_filter("i.process_key", process_key)}
              {" AND i.version_id = %(version_id)s" if version_id is not None else ""}"""


SLA_COUNTS = {
    "completed": "SUM(is_done)",
    "open": "SUM(is_open)",
    "sla_met": "SUM(CASE WHEN judged IS NOT NULL AND breach_s IS NOT NULL"
    " AND judged <= COALESCE(warning_s, breach_s) THEN 1 ELSE 0 END)",
    "sla_warned": "SUM(CASE WHEN judged IS NOT NULL AND breach_s IS NOT NULL"
    " AND warning_s IS NOT NULL AND judged > warning_s AND judged <= breach_s"
    " THEN 1 ELSE 0 END)",
    "sla_breached": "SUM(CASE WHEN judged IS NOT NULL AND breach_s IS NOT NULL"
    " AND judged > breach_s THEN 1 ELSE 0 END)",
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
    " AND judged <= COALESCE(warning_s, breach_s) THEN 1 ELSE 0 END)",
    "sla_warned": "SUM(CASE WHEN breach_s IS NOT NULL AND warning_s IS NOT NULL"
    " AND judged > warning_s AND judged <= breach_s THEN 1 ELSE 0 END)",
    "sla_breached": "SUM(CASE WHEN breach_s IS NOT NULL AND judged > breach_s THEN 1 ELSE 0 END)",
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
               {JUDGED.format(business="f.business_duration", wall="f.duration")} AS judged,
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
        WHERE t.status = 'open' AND {WALL_CLOCK_SLA}{_process_filter("t.process_key", process_key)}
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
    business_open = open_business_counts(
        now=params["now"],
        risk_s=params["risk_s"],
        process_key=process_key,
        version_id=version_id,
        key=lambda t: [(t["process_key"], t["activity_id"])],
    )
    if not facts:
        rows = fetch(
            percentile_query(
                source=f"{task_source(process_key=process_key, version_id=version_id)}"
                f" UNION ALL {job_source(process_key=process_key, version_id=version_id)}",
                keys=["process_key", "activity_id", "kind"],
                measures=["duration", "waiting", "working"],
                extra=SLA_COUNTS,
            ),
            params,
        )
        for r in rows:
            found = business_open.get((r["process_key"], r["activity_id"]))
            if found and r["kind"] == "user_task":
                r["open_at_risk"] = int(r["open_at_risk"] or 0) + found["open_at_risk"]
                r["open_breached"] = int(r["open_breached"] or 0) + found["open_breached"]
        return rows
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
            WHERE j.status IN ('pending', 'running', 'incident') AND NOT i.is_test_run
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
            FROM ({fenced(open_task_source(process_key=process_key, version_id=version_id))}) AS o
            GROUP BY process_key, activity_id""",
        params,
    )
    for r in waiting:
        row_for((r["process_key"], r["activity_id"], "user_task")).update(
            open=r["open"], open_at_risk=r["open_at_risk"], open_breached=r["open_breached"]
        )
    for group, counts in business_open.items():
        key, activity = cast(tuple[str, str], group)
        row_for((key, activity, "user_task")).update(counts)
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
                else {
                    "warning_s": target.warning_seconds,
                    "breach_s": target.breach_seconds,
                    "business_time": target.business_time,
                },
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


NAMED_VERSIONS_READ = 5  # per process: unnamed steps (nameless in every model) stop the search


def activity_names(*, steps: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """(process key, activity id) -> the activity's name in the model, for the given steps.

    The facts keep ids only; a step's name is read from the newest version of its process that
    names it (older versions only when a step is gone from the newer ones), so a process with many
    versions costs one small query plus one parsed XML per process in the usual case (at most
    NAMED_VERSIONS_READ)."""
    wanted: dict[str, set[str]] = {}
    for process_key, activity_id in steps:
        wanted.setdefault(process_key, set()).add(activity_id)
    newest_first = ProcessVersion.objects.filter(definition__key__in=list(wanted)).order_by(
        "definition__key", "-number"
    )
    names: dict[tuple[str, str], str] = {}
    read: dict[str, int] = {}
    for version_id, process_key in newest_first.values_list("pk", "definition__key"):
        missing = wanted[process_key] - {a for k, a in names if k == process_key}
        if not missing or read.get(process_key, 0) >= NAMED_VERSIONS_READ:
            continue
        read[process_key] = read.get(process_key, 0) + 1
        version = ProcessVersion.objects.select_related("definition").get(pk=version_id)
        found = rules_for_version(version).activity_names
        names.update({(process_key, a): found[a] for a in missing if a in found})
    return names


def activities_named(activities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The SLA dashboard's activity rows, each given its ``activity_name`` ("" when the model
    names none), in place; the rows are returned for convenience."""
    names = activity_names(steps=[(a["process_key"], a["activity_id"]) for a in activities])
    for a in activities:
        a["activity_name"] = names.get((a["process_key"], a["activity_id"]), "")
    return activities
