"""The SLA dashboard: every figure of the page and of GET /api/v1/reports/sla/ in one dict."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from apps.reports.selectors.activities import _sla_block, activity_summary, sla_by_process
from apps.reports.selectors.common import DEFAULT_RISK_HOURS, Period
from apps.reports.selectors.processes import escalations, process_summary, throughput
from apps.reports.selectors.workload import workload_by_role, workload_by_user


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
