"""When a new task's SLA warning and breach fall: wall-clock durations (ISO-8601) add up as they
are; business durations ("2 business days") count the working time of the task's calendar
(its own flowgate:calendar, else its process's, else the portal default; docs/calendars.md)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from apps.calendars.selectors import calculator_for
from apps.engine.core.business_time import BusinessDuration, CalendarError
from apps.inbox.model_rules import ProcessRules, TaskRules

log = logging.getLogger(__name__)


def sla_deadlines(
    rules: ProcessRules, task_rules: TaskRules, *, now: datetime
) -> tuple[datetime | None, datetime | None]:
    """(warning at, breach at) of a task created at ``now``; None where the model sets none."""
    calculator = None

    def deadline(wall: timedelta | None, business: BusinessDuration | None) -> datetime | None:
        nonlocal calculator
        if wall is not None:
            return now + wall
        if business is None:
            return None
        if calculator is None:
            calculator, _ = calculator_for(task_rules.calendar, rules.calendar)
        try:
            return calculator.add(now, business)
        except CalendarError:  # a calendar closed for years: no deadline rather than no task
            log.warning("sla deadline skipped: %s under an unusable calendar", business)
            return None

    return (
        deadline(task_rules.sla_warning, task_rules.sla_warning_business),
        deadline(task_rules.sla_breach, task_rules.sla_breach_business),
    )
