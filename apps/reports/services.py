"""Report settings writes: SLA targets and SLOs, each audited with before/after."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.db import transaction

from apps.audit.actions import AuditAction
from apps.audit.services import record
from apps.calendars.models import BusinessCalendar
from apps.calendars.selectors import calculator_for, calculator_of
from apps.common.actors import Actor
from apps.common.errors import InvalidInput
from apps.engine.core.business_time import (
    CalendarError,
    parse_business_duration,
    working_day_seconds,
)
from apps.engine.operator_services import archived_task_id_sql
from apps.inbox.models import HumanTask
from apps.processes.models import ProcessDefinition
from apps.reports.models import ActivitySla, ProcessSlo
from apps.reports.tasks import fill_business_durations


def _slo_dict(slo: ProcessSlo | None) -> dict | None:
    if slo is None:
        return None
    return {
        "objective_percent": str(slo.objective_percent),
        "target_seconds": slo.target_seconds,
        "window_days": slo.window_days,
    }


def slo_set(
    *,
    process_key: str,
    objective_percent: float | str | Decimal,
    target_seconds: int,
    window_days: int = 30,
    actor: Actor,
    user=None,
) -> ProcessSlo:
    """Create or change the objective of a process ("P % complete within T seconds")."""
    process_key = (process_key or "").strip()
    try:
        objective = Decimal(str(objective_percent)).quantize(Decimal("0.001"))
    except InvalidOperation:
        objective = Decimal(-1)
    if not process_key or len(process_key) > 200:
        raise InvalidInput(
            "Give the process key (at most 200 characters).",
            code="invalid_slo",
            details=[{"field": "process_key", "message": "Choose a process."}],
        )
    if not ProcessDefinition.objects.filter(key=process_key).exists():
        raise InvalidInput(
            f"There is no process '{process_key}': an objective is set for a deployed process.",
            code="unknown_process",
            details=[{"field": "process_key", "message": "Choose one of the deployed processes."}],
        )
    if not Decimal(1) <= objective <= Decimal("99.999"):
        raise InvalidInput(
            "The objective is a percentage between 1 and 99.999 (100% leaves no error budget).",
            code="invalid_slo",
        )
    if not 1 <= int(target_seconds) <= 365 * 86400:
        raise InvalidInput("The target is between 1 second and 365 days.", code="invalid_slo")
    if not 1 <= int(window_days) <= 365:
        raise InvalidInput("The window is between 1 and 365 days.", code="invalid_slo")
    with transaction.atomic():
        slo = ProcessSlo.objects.select_for_update().filter(process_key=process_key).first()
        before = _slo_dict(slo)
        if slo is None:
            slo = ProcessSlo(process_key=process_key)
        slo.objective_percent = objective
        slo.target_seconds = int(target_seconds)
        slo.window_days = int(window_days)
        slo.updated_by = user
        slo.save()
        record(
            AuditAction.SETTINGS_CHANGED,
            actor=actor,
            process_key=process_key,
            before=before,
            after=_slo_dict(slo),
            data={"setting": "process_slo"},
        )
    return slo


def _sla_dict(sla: ActivitySla) -> dict:
    return {
        "warning_seconds": sla.warning_seconds,
        "breach_seconds": sla.breach_seconds,
        "business_time": sla.business_time,
        "calendar": sla.calendar.slug if sla.calendar is not None else "",
    }


def _threshold_invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(
        f"{field}: {message}", code="invalid_sla", details=[{"field": field, "message": message}]
    )


def sla_threshold_seconds(
    value: int | str | None, *, field: str, business_time: bool, calendar: BusinessCalendar | None
) -> int | None:
    """A threshold as stored: seconds (a number) or, with business time, "2 business days" /
    "4 business hours" / "30 business minutes" (the parser user-task SLAs use) as working
    seconds under ``calendar`` (None: the portal default, else the fallback week); a business
    day is that calendar's usual working day (``working_day_seconds``). None stays None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, int) or str(value).strip().isdigit():
        return int(value)
    duration = parse_business_duration(str(value))
    if duration is None:
        raise _threshold_invalid(
            field, f"“{value}” is not a number of seconds nor like “2 business days”."
        )
    if not business_time:
        raise _threshold_invalid(
            field, "a business duration needs business time: tick business time, or give seconds."
        )
    if duration.unit != "days":
        return duration.amount
    try:
        week = (calculator_of(calendar) if calendar is not None else calculator_for()[0]).week
        return duration.amount * working_day_seconds(week)
    except CalendarError as exc:
        raise _threshold_invalid(field, str(exc)) from exc


def activity_sla_set(
    *,
    process_key: str,
    activity_id: str,
    breach_seconds: int | str,
    warning_seconds: int | str | None = None,
    business_time: bool = False,
    calendar: BusinessCalendar | None = None,
    actor: Actor,
) -> ActivitySla:
    """Create or change the warning/breach thresholds of a user task.

    With ``business_time`` the thresholds are working seconds under ``calendar`` (None: the
    portal default calendar), judged against each fact's stored business duration (decision
    041); facts already written are given theirs by the facts' catch-up. Either threshold may
    be given as "N business days/hours/minutes" (``sla_threshold_seconds``)."""
    if not process_key or not activity_id:
        raise InvalidInput("Give the process key and the activity id.", code="invalid_sla")
    if calendar is not None and not business_time:
        raise InvalidInput(
            "A calendar applies to business-time thresholds only: tick business time or clear"
            " the calendar.",
            code="invalid_sla",
        )
    breach, warning = (
        sla_threshold_seconds(value, field=name, business_time=business_time, calendar=calendar)
        for name, value in (("breach", breach_seconds), ("warning", warning_seconds))
    )
    if breach is None:
        raise _threshold_invalid("breach", "give the breach threshold.")
    if breach < 1:
        raise _threshold_invalid("breach", "the breach threshold is at least 1 second.")
    if warning is not None and not 0 < warning <= breach:
        raise _threshold_invalid("warning", "a warning comes before the breach.")
    with transaction.atomic():
        sla = (
            ActivitySla.objects.select_for_update()
            .filter(process_key=process_key, activity_id=activity_id)
            .first()
        )
        before = None if sla is None else _sla_dict(sla)
        sla = sla or ActivitySla(process_key=process_key, activity_id=activity_id)
        sla.warning_seconds, sla.breach_seconds = warning, breach
        sla.business_time = bool(business_time)
        sla.calendar = calendar
        sla.save()
        record(
            AuditAction.SETTINGS_CHANGED,
            actor=actor,
            process_key=process_key,
            before=before,
            after=_sla_dict(sla),
            data={"setting": "activity_sla", "activity_id": activity_id},
        )
        if sla.business_time:  # the facts written before get their business duration
            transaction.on_commit(fill_business_durations.delay)
    return sla


def human_task_reactivated(*, instance_id: int, task_id: str) -> None:
    """A step of a migrated instance runs again under its old engine task id: the finished HumanTask of the
    earlier activation keeps its history under an archived task id, so the inbox projection
    creates a fresh task. Registered with apps.engine.operator_services at start-up (apps.py).
    Requires: the caller holds the instance row lock."""
    HumanTask.objects.filter(instance_id=instance_id, task_id=task_id).update(
        task_id=archived_task_id_sql()
    )
