"""When a new task's SLA warning and breach fall: wall-clock durations (ISO-8601) add up as they
are; business durations ("2 business days") count the working time of the task's calendar
(its own flowgate:calendar, else its process's, else the portal default; docs/calendars.md)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from apps.calendars.selectors import calculator_for
from apps.engine.core.business_time import (
    BusinessCalendar,
    BusinessDuration,
    CalendarError,
    deadline_after_pause,
)
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


def sla_deadlines_resumed(
    rules: ProcessRules,
    task_rules: TaskRules,
    *,
    warning_at: datetime | None,
    breach_at: datetime | None,
    due_at: datetime | None,
    paused_at: datetime,
    now: datetime,
) -> tuple[datetime | None, datetime | None, datetime | None]:
    """(warning, breach, due) of a task whose SLA clock stopped at ``paused_at`` and runs again
    ``now``: each is moved by the paused time, counted in the task's calendar where the model
    gave that threshold in business time, else on the wall clock (docs/inbox.md)."""
    calculator: BusinessCalendar | None = None
    if task_rules.sla_warning_business or task_rules.sla_breach_business:
        calculator, _ = calculator_for(task_rules.calendar, rules.calendar)

    def moved(deadline: datetime | None, business: bool) -> datetime | None:
        if deadline is None:
            return None
        try:
            return deadline_after_pause(
                deadline,
                paused_at=paused_at,
                resumed_at=now,
                calendar=calculator if business else None,
            )
        except CalendarError:  # a calendar closed for years since: fall back to the wall clock
            log.warning("sla deadline moved on the wall clock: unusable calendar")
            return deadline_after_pause(deadline, paused_at=paused_at, resumed_at=now)

    # a dueDate in the model is the task's due date and breach (an engine value: wall-clock)
    breach_business = task_rules.sla_breach_business is not None and not task_rules.has_due_date
    new_breach = moved(breach_at, breach_business)
    new_due = new_breach if due_at == breach_at else moved(due_at, False)
    return moved(warning_at, task_rules.sla_warning_business is not None), new_breach, new_due
