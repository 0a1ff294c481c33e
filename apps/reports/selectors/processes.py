# ruff: noqa: S608 - SQL text is built from constants only; every user value is a bound parameter
"""Per process: instances started in the period by status and their end-to-end durations,
instances started and completed over time, and escalations (from the audit trail)."""

from __future__ import annotations

from typing import Any

from apps.audit.actions import AuditAction
from apps.processes.models import ProcessVersion, VersionStatus
from apps.reports.selectors.common import Period, _params, _process_filter
from apps.reports.sql import (
    as_float,
    bucket_key,
    bucket_label,
    fetch,
    percentile_query,
    seconds_between,
    stats,
)


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
        WHERE i.created_at >= %(since)s AND i.created_at < %(until)s AND NOT i.is_test_run{where}"""
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
        fence=True,  # the duration (a numeric EXTRACT) once per instance: 105 -> 75 ms (020)
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
            WHERE created_at >= %(since)s AND created_at < %(until)s AND NOT is_test_run{pf}
            GROUP BY 1
            UNION ALL
            SELECT {bucket_key("ended_at", bucket=bucket)}, 0, COUNT(*)
            FROM engine_processinstance
            WHERE status = 'completed' AND ended_at >= %(since)s AND ended_at < %(until)s
                  AND NOT is_test_run{pf}
            GROUP BY 1
        ) AS b GROUP BY b.bucket ORDER BY b.bucket"""
    return [
        {"bucket": r["bucket"], "started": int(r["started"]), "completed": int(r["completed"])}
        for r in fetch(sql, _params(period, process_key=process_key))
    ]


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


def slo_process_choices() -> list[tuple[str, str]]:
    """(key, "Name (key)") of every process with a deployed version: what an objective may be
    set for."""
    keys = (
        ProcessVersion.objects.filter(status=VersionStatus.DEPLOYED)
        .values_list("definition__key", "definition__name")
        .distinct()
        .order_by("definition__key")
    )
    return [(key, f"{name} ({key})" if name and name != key else key) for key, name in keys]
