"""The boundary timers of a user task stand still while the task waits on its requester
("more information needed", apps.inbox.services.info): paused when the task is sent back,
resumed when the requester answers, each then due the time it had left at the pause later —
working time of its business calendar for a timer given in business time (decision 037)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from apps.engine.business_calendars import timer_calendar_resolver
from apps.engine.core.business_time import CalendarError, deadline_after_pause
from apps.engine.core.timer_pause import boundary_timers_pause, boundary_timers_resume
from apps.engine.models import ProcessInstance
from apps.engine.runtime.projections import timer_rows_sync
from apps.engine.runtime.state import load


def _save(instance: ProcessInstance, handle) -> None:
    instance.state = handle.dump()
    instance.save(update_fields=["state", "updated_at"])
    timer_rows_sync(instance, handle.effects().timers)


def user_task_timers_pause(*, instance: ProcessInstance, task_id: str) -> list[str]:
    """Stop the boundary timers of the user task ``task_id`` (engine id); their activity ids.
    Requires: the instance row is locked (the caller's transaction)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("user_task_timers_pause needs the caller's transaction and lock")
    handle = load(instance)
    paused = boundary_timers_pause(handle, task_id)
    if paused:
        _save(instance, handle)
    return paused


def user_task_timers_resume(
    *, instance: ProcessInstance, task_id: str, paused_at: datetime, now: datetime
) -> list[str]:
    """Start them again, moved by the pause. Requires: the instance row is locked."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("user_task_timers_resume needs the caller's transaction and lock")
    handle = load(instance)
    checksum = getattr(instance, "version_checksum", None) or instance.version.checksum
    calendar_of = timer_calendar_resolver(instance.version_id, checksum)

    def move(bpmn_id: str, due: datetime, business: bool) -> datetime:
        calendar = calendar_of(bpmn_id) if business else None
        try:
            return deadline_after_pause(due, paused_at=paused_at, resumed_at=now, calendar=calendar)
        except CalendarError:
            return deadline_after_pause(due, paused_at=paused_at, resumed_at=now)

    resumed = boundary_timers_resume(handle, task_id, move)
    if resumed:
        _save(instance, handle)
    return resumed
