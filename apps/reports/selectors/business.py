"""Open tasks of activities whose SLA is in business time (decision 041): judged now in Python.

SQL compares an open task's wall-clock age with its threshold; a working-time threshold needs the
calendar, so the SQL counts leave these tasks out (``WALL_CLOCK_SLA``) and this module counts
them: each task breaches at the instant its creation plus the threshold's working seconds falls
under the SLA's calendar; it is *breached* after that instant and *at risk* when the instant falls
within the risk window (as ``age + risk >= breach`` on the wall clock)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from datetime import datetime, timedelta
from typing import Any

from apps.engine.core.business_time import CalendarError
from apps.inbox.models import HumanTask, TaskStatus
from apps.reports.business_facts import sla_calculator
from apps.reports.models import ActivitySla

# The SQL condition (alias ``s`` for reports_activitysla, outer-joined) of "judged on the wall
# clock in SQL": no SLA, or a wall-clock one.
WALL_CLOCK_SLA = "(s.business_time IS NULL OR NOT s.business_time)"


def open_business_counts(
    *,
    now: datetime,
    risk_s: float,
    process_key: str = "",
    version_id: int | None = None,
    key: Callable[[Mapping[str, Any]], list[Hashable]],
) -> dict[Hashable, dict[str, int]]:
    """``key(task)`` -> {"open", "open_at_risk", "open_breached"} over the open tasks of
    business-time SLAs; ``key`` gives the group(s) of a task (its activity, or its roles)."""
    slas = ActivitySla.objects.filter(business_time=True)
    if process_key:
        slas = slas.filter(process_key=process_key)
    out: dict[Hashable, dict[str, int]] = {}
    for sla in slas:
        tasks = HumanTask.objects.filter(
            status=TaskStatus.OPEN, process_key=sla.process_key, activity_id=sla.activity_id
        )
        if version_id is not None:
            tasks = tasks.filter(instance__version_id=version_id)
        calculator = sla_calculator(sla)
        for task in tasks.values("process_key", "activity_id", "created_at", "candidate_groups"):
            try:
                breach_at = calculator.add_seconds(task["created_at"], sla.breach_seconds)
            except CalendarError:
                continue  # a calendar closed for years: never breaches
            for group in key(task):
                counts = out.setdefault(group, {"open": 0, "open_at_risk": 0, "open_breached": 0})
                counts["open"] += 1
                if now > breach_at:
                    counts["open_breached"] += 1
                elif breach_at <= now + timedelta(seconds=risk_s):
                    counts["open_at_risk"] += 1
    return out
