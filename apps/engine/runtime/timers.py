"""Timers and timer-start schedules: rows with a due time, swept every second; each fires once
(SKIP LOCKED: two schedulers never fire the same one)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from apps.audit.actions import AuditAction
from apps.audit.services import record
from apps.engine.models import InstanceStatus, StartSchedule, Timer
from apps.engine.runtime.instances import instance_start
from apps.engine.runtime.state import SCHEDULER_ACTOR, instance_lock, load, persist_advance
from apps.engine.schedules import first_due, next_due
from apps.processes.models import ProcessVersion


def timers_fire_due(*, now: datetime | None = None, limit: int = 100) -> int:
    """Fire every due timer exactly once (SKIP LOCKED: two schedulers never fire the same one)."""
    now = now or timezone.now()
    fired = 0
    due_ids = list(
        Timer.objects.filter(
            fired_at__isnull=True,
            cancelled=False,
            due_at__lte=now,
            instance__status=InstanceStatus.RUNNING,
        )
        .order_by("due_at")
        .values_list("pk", "instance_id")[:limit]
    )
    for timer_id, instance_id in due_ids:
        with transaction.atomic():
            instance = instance_lock(instance_id=instance_id)
            timer = (
                Timer.objects.select_for_update(skip_locked=True)
                .filter(pk=timer_id, fired_at__isnull=True, cancelled=False)
                .first()
            )
            if timer is None or instance.status != InstanceStatus.RUNNING:
                continue
            timer.fired_at = now
            timer.save(update_fields=["fired_at"])
            handle = load(instance)
            handle.fire_due_timers(max(now, timezone.now()))
            record(
                AuditAction.TIMER_FIRED,
                instance=instance,
                actor=SCHEDULER_ACTOR,
                data={"activity_id": timer.activity_id, "due_at": timer.due_at.isoformat()},
            )
            persist_advance(instance, handle, actor=SCHEDULER_ACTOR)
            fired += 1
    return fired


def start_schedules_create(*, version: ProcessVersion) -> list[StartSchedule]:
    """Replace the timer-start schedules of older versions of the same process with this one's."""

    StartSchedule.objects.filter(version__definition=version.definition, active=True).exclude(
        version=version
    ).update(active=False)
    created = []
    for event_id, kind, expression in version.metadata.get("timer_starts", []):
        due, remaining = first_due(kind, expression, timezone.now())
        created.append(
            StartSchedule.objects.create(
                version=version,
                event_id=event_id,
                kind=kind,
                expression=expression,
                next_due_at=due,
                remaining=remaining,
                active=due is not None,
            )
        )
    return created


def start_schedules_fire_due(*, now: datetime | None = None, limit: int = 50) -> int:

    now = now or timezone.now()
    started = 0
    with transaction.atomic():
        schedules = list(
            StartSchedule.objects.select_for_update(skip_locked=True)
            .select_related("version__definition")
            .filter(active=True, next_due_at__lte=now)
            .order_by("next_due_at")[:limit]
        )
        for schedule in schedules:
            instance_start(
                version=schedule.version, actor=SCHEDULER_ACTOR, start_event_id=schedule.event_id
            )
            due, remaining = next_due(
                schedule.kind, schedule.expression, schedule.next_due_at, schedule.remaining, now
            )
            schedule.next_due_at = due
            schedule.remaining = remaining
            schedule.active = due is not None
            schedule.save(update_fields=["next_due_at", "remaining", "active"])
            started += 1
    return started
