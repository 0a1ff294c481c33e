"""The business-time duration of completed-task facts (decision 041).

An ``ActivitySla`` may give its thresholds in business time: working seconds under a calendar.
Judging a fact then needs its duration in working time, which SQL cannot compute (working hours,
holidays, time zones). So each fact of such an activity gets ``business_duration`` when it is
written (in the completion's transaction, by ``task_facts_for_instance``), and the report SQL
compares that stored number with the threshold, as it compares ``duration`` with a wall-clock
one. Facts written before an activity's SLA switched to business time are filled by
``business_durations_fill`` (the beat's catch-up and ``manage.py report_facts_sync``).

The value is fixed when written: a later change of the calendar does not rewrite past figures
(as the deadlines of decision 028), so a report over a past period stays what it was.

Time waiting on the requester is taken out as the working time of each pause (from the task's
``task.info_requested`` / ``task.info_provided`` audit events), so a pause over a weekend costs
nothing and one during working hours costs what it lasted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from django.db.models import Q

from apps.audit.actions import AuditAction
from apps.audit.models import AuditEvent
from apps.calendars.models import BusinessCalendar
from apps.calendars.selectors import calculator_for, calculator_of
from apps.engine.core.business_time import BusinessCalendar as Calculator
from apps.engine.core.business_time import CalendarError
from apps.inbox.models import HumanTask
from apps.reports.models import ActivitySla, TaskFact

log = logging.getLogger(__name__)

FILL_BATCH = 5000  # facts per catch-up run: bounded work per beat tick


def sla_calculator(sla: ActivitySla) -> Calculator:
    """The calculator a business-time SLA counts with: its calendar, else the portal default,
    else Monday-Friday 09:00-17:00 in the portal's time zone."""
    if sla.calendar_id is not None:
        calendar = BusinessCalendar.objects.get(pk=sla.calendar_id)
        try:
            return calculator_of(calendar)
        except CalendarError:
            log.warning("business-time SLA %s: unusable calendar, using the default", sla.pk)
    calculator, _ = calculator_for()
    return calculator


def _pauses(task_ids: Iterable[int]) -> dict[int, list[tuple[datetime, datetime]]]:
    """task id -> its (asked, answered) intervals, from the audit trail."""
    events = (
        AuditEvent.objects.filter(
            task_id__in=list(task_ids),
            action__in=[AuditAction.TASK_INFO_REQUESTED, AuditAction.TASK_INFO_PROVIDED],
        )
        .order_by("task_id", "time", "position")
        .values_list("task_id", "action", "time")
    )
    out: dict[int, list[tuple[datetime, datetime]]] = {}
    asked: dict[int, datetime] = {}
    for task_id, action, time in events:
        if task_id is None:
            continue
        if action == AuditAction.TASK_INFO_REQUESTED:
            asked[task_id] = time
        elif task_id in asked:
            out.setdefault(task_id, []).append((asked.pop(task_id), time))
    return out


def business_duration(
    calculator: Calculator,
    created_at: datetime,
    completed_at: datetime,
    pauses: Iterable[tuple[datetime, datetime]] = (),
) -> float:
    """Working seconds from creation to completion, less the working time of the pauses."""
    total = calculator.elapsed(created_at, completed_at).total_seconds()
    for asked, answered in pauses:
        total -= calculator.elapsed(
            max(asked, created_at), min(answered, completed_at)
        ).total_seconds()
    return max(total, 0.0)


def _fill(facts: list[TaskFact]) -> int:
    if not facts:
        return 0
    slas = {
        (s.process_key, s.activity_id): s
        for s in ActivitySla.objects.filter(
            business_time=True, process_key__in={f.process_key for f in facts}
        )
    }
    calculators: dict[int, Calculator] = {}
    paused = set(
        HumanTask.objects.filter(
            pk__in=[f.task_id for f in facts], paused_seconds__gt=0
        ).values_list("pk", flat=True)
    )
    pauses = _pauses(paused) if paused else {}
    written = []
    for fact in facts:
        sla = slas.get((fact.process_key, fact.activity_id))
        if sla is None:
            continue
        if sla.pk not in calculators:
            calculators[sla.pk] = sla_calculator(sla)
        try:
            fact.business_duration = business_duration(
                calculators[sla.pk],
                fact.created_at,
                fact.completed_at,
                pauses.get(fact.task_id, ()),
            )
        except CalendarError:  # a calendar closed for years: the fact stays unjudged
            log.warning("task fact %s: no business duration under an unusable calendar", fact.pk)
            continue
        written.append(fact)
    TaskFact.objects.bulk_update(written, ["business_duration"])
    return len(written)


def _business_facts(**filters) -> list[TaskFact]:
    pairs = list(
        ActivitySla.objects.filter(business_time=True).values_list("process_key", "activity_id")
    )
    if not pairs:
        return []
    match = Q()
    for process_key, activity_id in pairs:
        match |= Q(process_key=process_key, activity_id=activity_id)
    return list(
        TaskFact.objects.filter(match, business_duration__isnull=True, **filters).only(
            "pk", "task_id", "process_key", "activity_id", "created_at", "completed_at"
        )[:FILL_BATCH]
    )


def business_durations_for_instance(instance_id: int) -> int:
    """The business durations of ``instance_id``'s new facts (the fact writer, same transaction)."""
    if not ActivitySla.objects.filter(business_time=True).exists():
        return 0
    return _fill(_business_facts(instance_id=instance_id))


def business_durations_fill(*, since: datetime | None = None, batches: int | None = None) -> int:
    """Facts of business-time SLAs still without a business duration, ``FILL_BATCH`` at a time
    (all of them when ``batches`` is None), created at or after ``since`` when given (the beat's
    catch-up: an index range per activity, not its whole history); returns how many."""
    filters = {} if since is None else {"created_at__gte": since}
    total, done = 0, 0
    while batches is None or done < batches:
        facts = _business_facts(**filters)
        filled = _fill(facts)
        total += filled
        done += 1
        if len(facts) < FILL_BATCH or filled == 0:
            break
    return total
