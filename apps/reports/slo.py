# ruff: noqa: S608 - SQL text is built from constants only; every user value is a bound parameter
"""Service-level objectives per process: SLIs, error budget and burn rates, in the database.

An objective "P % of instances complete within T" judges each non-cancelled instance once, at
its *decision instant*: the completion if it completed within T (good), else ``created + T``,
the moment it missed (bad) - whether it completed late or is still running. An instance counts
in a window when its decision instant lies in ``(now - window, now]``.

- error budget = (1 - P) x judged instances of the SLO window; remaining = 1 - bad / budget;
- burn rate over w = (bad_w / judged_w) / (1 - P): 1 spends the budget exactly over the window;
- state: ``exhausted`` when nothing remains; ``at_risk`` when under 25 % remains or a window
  burns fast (1 h > 14.4, 6 h > 6, 3 d > 1: the multi-window thresholds of the Google SRE
  workbook); else ``ok``; ``no_data`` without judged instances.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from apps.reports.day_counts import completed_tasks_by_process
from apps.reports.models import ProcessSlo
from apps.reports.sql import epoch_seconds, fetch, is_postgres, seconds_between

BURN_WINDOWS: tuple[tuple[str, int, float], ...] = (
    ("1h", 3600, 14.4),
    ("6h", 6 * 3600, 6.0),
    ("3d", 3 * 86400, 1.0),
)
AT_RISK_REMAINING = 0.25
# How each SLO state shows on a badge: (Bootstrap tone, label); a state not here shows none.
SLO_BADGES = {
    "ok": ("success", "SLO OK"),
    "at_risk": ("warning", "SLO at risk"),
    "exhausted": ("danger", "SLO budget exhausted"),
}
# The audit actions that record a human task's outcome (one per completion).
OUTCOME_ACTIONS = "'task.completed', 'task.approved', 'task.rejected'"


def _judged_sql(process_filter: str) -> str:
    if is_postgres():
        # Timestamps compared as timestamps (exact to the microsecond, and several times
        # cheaper per instance than EXTRACT(EPOCH ...), which PostgreSQL computes in numeric).
        target = "o.target_seconds * INTERVAL '1 second'"
        good = (
            "i.status = 'completed' AND i.ended_at IS NOT NULL"
            f" AND i.ended_at <= i.created_at + {target}"
        )
        decided = f"CASE WHEN {good} THEN i.ended_at ELSE i.created_at + {target} END"
        now = "%(now_at)s"

        def ago(seconds: str) -> str:
            return f"%(now_at)s - {seconds} * INTERVAL '1 second'"

    else:
        duration = seconds_between("i.created_at", "i.ended_at")
        good = (
            f"i.status = 'completed' AND i.ended_at IS NOT NULL AND {duration} <= o.target_seconds"
        )
        decided = (
            f"CASE WHEN {good} THEN {epoch_seconds('i.ended_at')}"
            f" ELSE {epoch_seconds('i.created_at')} + o.target_seconds END"
        )
        now = "%(now)s"

        def ago(seconds: str) -> str:
            return f"%(now)s - {seconds}"

    windows = "".join(
        f", SUM(CASE WHEN decided > {ago(str(secs))} THEN 1 ELSE 0 END) AS judged_{name}"
        f", SUM(CASE WHEN decided > {ago(str(secs))} THEN bad ELSE 0 END) AS bad_{name}"
        for name, secs, _ in BURN_WINDOWS
    )
    return f"""
        SELECT process_key, COUNT(*) AS judged, SUM(bad) AS bad{windows}
        FROM (
            SELECT o.process_key AS process_key, o.window_days AS window_days,
                   CASE WHEN {good} THEN 0 ELSE 1 END AS bad, {decided} AS decided
            FROM engine_processinstance i
            JOIN reports_processslo o ON o.process_key = i.process_key
            WHERE i.status <> 'cancelled' AND i.created_at >= %(oldest)s
                  AND NOT i.is_test_run{process_filter}
        ) AS d
        WHERE decided <= {now} AND decided > {ago("window_days * 86400")}
        GROUP BY process_key"""


def _state(remaining: float | None, burns: dict[str, float | None]) -> str:
    if remaining is None:
        return "no_data"
    if remaining <= 0:
        return "exhausted"
    if remaining < AT_RISK_REMAINING or any(
        (burns[name] or 0) > limit for name, _, limit in BURN_WINDOWS
    ):
        return "at_risk"
    return "ok"


def slo_status(*, process_key: str = "", now: datetime | None = None) -> list[dict[str, Any]]:
    """Every SLO (or one process's) with its SLI, error budget, burn rates and state."""
    now = now or timezone.now()
    slos = list(ProcessSlo.objects.filter(**({"process_key": process_key} if process_key else {})))
    if not slos:
        return []
    longest = max(s.window_days * 86400 + s.target_seconds for s in slos)
    rows = {
        r["process_key"]: r
        for r in fetch(
            _judged_sql(" AND i.process_key = %(process_key)s" if process_key else ""),
            {
                "now": now.timestamp(),
                "now_at": now,
                "oldest": now - timedelta(seconds=longest),
                "process_key": process_key,
            },
        )
    }
    out = []
    for slo in slos:
        row = rows.get(slo.process_key, {})
        allowed = 1 - float(slo.objective_percent) / 100
        judged, bad = int(row.get("judged") or 0), int(row.get("bad") or 0)
        remaining = None if not judged else round(1 - (bad / judged) / allowed, 4)
        burns: dict[str, float | None] = {}
        for name, _, _ in BURN_WINDOWS:
            n, b = int(row.get(f"judged_{name}") or 0), int(row.get(f"bad_{name}") or 0)
            burns[name] = None if not n else round((b / n) / allowed, 3)
        out.append(
            {
                "process_key": slo.process_key,
                "objective_percent": float(slo.objective_percent),
                "target_seconds": slo.target_seconds,
                "window_days": slo.window_days,
                "judged": judged,
                "good": judged - bad,
                "bad": bad,
                "sli": None if not judged else round((judged - bad) / judged, 4),
                "budget_remaining": remaining,
                "burn_rates": burns,
                "state": _state(remaining, burns),
            }
        )
    return out


def slo_states(*, process_keys: list[str] | None = None) -> dict[str, str]:
    """process key -> SLO state, for lists (the designer's process list): one query."""
    return {
        s["process_key"]: s["state"]
        for s in slo_status()
        if process_keys is None or s["process_key"] in process_keys
    }


def slis(*, period_since: datetime, period_until: datetime, process_key: str = "") -> list[dict]:
    """Per process over the period: success rate, task (step) failure rate, retries per
    instance, escalation rate, mean incident time to resolve, queue depth; and for human tasks
    completed in the period: duplicate outcomes (a task whose outcome was recorded more than
    once) and audit completeness (share of completed tasks with their outcome event)."""
    pf_i = " AND i.process_key = %(process_key)s" if process_key else ""
    started = f"i.created_at >= %(since)s AND i.created_at < %(until)s AND NOT i.is_test_run{pf_i}"
    # One row per instance started in the period, joined to its tasks and steps counted per
    # instance: each table is read once, the tasks as a grouped walk of their instance index
    # (decisions 017 and 020; a join of every task row with the instances cost twice as much).
    # The walks cover the id range of the period's instances only, given as values (a
    # sub-select in their place left the planner guessing): their cost follows the period,
    # not the whole history. Exact: every task and step of a period's instance is in range,
    # and the rows of other instances in range are dropped by the join.
    params = {"since": period_since, "until": period_until, "process_key": process_key}
    bounds = fetch(
        f"SELECT MIN(i.id) AS lo, MAX(i.id) AS hi FROM engine_processinstance i WHERE {started}",
        params,
    )[0]
    params["lo"], params["hi"] = bounds["lo"] or 0, bounds["hi"] or 0
    sql = f"""
        SELECT i.process_key AS process_key, COUNT(*) AS instances,
               SUM(CASE WHEN i.status = 'completed' THEN 1 ELSE 0 END) AS completed,
               SUM(CASE WHEN i.status = 'cancelled' THEN 1 ELSE 0 END) AS cancelled,
               SUM(CASE WHEN x.instance_id IS NOT NULL THEN 1 ELSE 0 END) AS with_incident,
               SUM(COALESCE(j.steps, 0)) AS steps, SUM(COALESCE(j.failed, 0)) AS failed_steps,
               SUM(COALESCE(j.retries, 0)) AS retries, SUM(COALESCE(t.tasks, 0)) AS tasks
        FROM engine_processinstance i
        LEFT JOIN (SELECT DISTINCT instance_id FROM engine_incident) AS x
               ON x.instance_id = i.id
        LEFT JOIN (
            SELECT instance_id, COUNT(*) AS tasks FROM inbox_humantask
            WHERE instance_id BETWEEN %(lo)s AND %(hi)s GROUP BY instance_id
        ) AS t ON t.instance_id = i.id
        LEFT JOIN (
            SELECT j.instance_id AS instance_id, COUNT(*) AS steps,
                   SUM(CASE WHEN j.status = 'incident' OR f.job_id IS NOT NULL
                            THEN 1 ELSE 0 END) AS failed,
                   SUM(CASE WHEN j.attempts > 1 THEN j.attempts - 1 ELSE 0 END) AS retries
            FROM engine_job j
            LEFT JOIN (SELECT DISTINCT job_id FROM engine_incident WHERE job_id IS NOT NULL) f
                   ON f.job_id = j.id
            WHERE j.instance_id BETWEEN %(lo)s AND %(hi)s
            GROUP BY j.instance_id
        ) AS j ON j.instance_id = i.id
        WHERE {started}
        GROUP BY i.process_key ORDER BY i.process_key"""
    base = fetch(sql, params, serial=True)
    extra_sql = f"""
        SELECT process_key, SUM(escalations) AS escalations, SUM(resolved) AS resolved,
               SUM(resolve_s) AS resolve_s, SUM(queued) AS queued FROM (
            SELECT process_key, 1 AS escalations, 0 AS resolved, 0 AS resolve_s, 0 AS queued
            FROM audit_auditevent
            WHERE action = 'task.escalated' AND time >= %(since)s AND time < %(until)s
            UNION ALL
            SELECT i.process_key, 0, 1, {seconds_between("x.created_at", "x.resolved_at")}, 0
            FROM engine_incident x JOIN engine_processinstance i ON i.id = x.instance_id
            WHERE x.resolved_at IS NOT NULL AND NOT i.is_test_run
              AND x.resolved_at >= %(since)s AND x.resolved_at < %(until)s
            UNION ALL
            SELECT i.process_key, 0, 0, 0, 1
            FROM engine_job j JOIN engine_processinstance i ON i.id = j.instance_id
            WHERE j.status = 'pending' AND NOT i.is_test_run
        ) AS e GROUP BY process_key"""
    extra = {r["process_key"]: r for r in fetch(extra_sql, params)}
    # Completed tasks from the per-day counts (decision 020), the audited ones from the other
    # side: the outcome events, grouped per task, joined to their task's fact by its unique task
    # id (no join of the period's facts with the events: its cost followed the period's tasks).
    # Outcome events are written in the completion's transaction, so none of a task completed in
    # the period is older than the period (an hour of slack).
    completed_tasks = completed_tasks_by_process(
        since=period_since, until=period_until, process_key=process_key
    )
    audit_sql = f"""
        SELECT f.process_key AS process_key, COUNT(*) AS audited,
               SUM(CASE WHEN e.events > 1 THEN 1 ELSE 0 END) AS duplicated
        FROM (
            SELECT task_id, COUNT(*) AS events FROM audit_auditevent
            WHERE task_id IS NOT NULL AND action IN ({OUTCOME_ACTIONS})
              AND time >= %(events_since)s
            GROUP BY task_id
        ) AS e JOIN reports_taskfact f ON f.task_id = e.task_id
        WHERE f.completed_at >= %(since)s AND f.completed_at < %(until)s
              {" AND f.process_key = %(process_key)s" if process_key else ""}
        GROUP BY f.process_key"""
    params["events_since"] = period_since - timedelta(hours=1)
    audit = {r["process_key"]: r for r in fetch(audit_sql, params)}
    out = []
    for r in base:
        e = extra.get(r["process_key"], {})
        instances, tasks, steps = int(r["instances"]), int(r["tasks"] or 0), int(r["steps"] or 0)
        ended = int(r["completed"]) + int(r["cancelled"])
        resolved = int(e.get("resolved") or 0)
        a = audit.get(r["process_key"], {})
        done = completed_tasks.get(r["process_key"], 0)
        out.append(
            {
                "process_key": r["process_key"],
                "instances": instances,
                "success_rate": None if not ended else round(int(r["completed"]) / ended, 4),
                "instances_with_incident": int(r["with_incident"] or 0),
                "step_failure_rate": None
                if not steps
                else round(int(r["failed_steps"]) / steps, 4),
                "retries_per_instance": round(int(r["retries"] or 0) / instances, 4),
                "escalation_rate": None
                if not tasks
                else round(int(e.get("escalations") or 0) / tasks, 4),
                "incident_mean_time_to_resolve_s": None
                if not resolved
                else round(float(Decimal(str(e["resolve_s"]))) / resolved, 3),
                "queue_depth": int(e.get("queued") or 0),
                "duplicate_outcomes": int(a.get("duplicated") or 0),
                "audit_completeness": None
                if not done
                else round(int(a.get("audited") or 0) / done, 4),
            }
        )
    return out
