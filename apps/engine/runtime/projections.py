"""The projection rows of an instance, in step with what the engine core now waits on: job rows
(service tasks), timer rows, message subscriptions, and the user tasks (through the
``user_tasks_changed`` hook: the inbox keeps its HumanTask rows). Called by the write path
(``state.persist_*``) under the instance lock, in its transaction."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from apps.common import tracing
from apps.common.actors import Actor
from apps.common.db import insert_rows
from apps.connectors.registry import runs_in_process
from apps.engine import core
from apps.engine.models import (
    INCIDENT_TRANSITIONS,
    JOB_TRANSITIONS,
    Incident,
    IncidentStatus,
    InstanceStatus,
    Job,
    JobStatus,
    MessageSubscription,
    ProcessInstance,
    Timer,
)
from apps.engine.runtime.hooks import ring_after_commit, user_tasks_changed

WAIT_TIMERS, WAIT_MESSAGES, WAIT_TASKS = 1, 2, 4
#: An engine run limit stopped the instance and its incident may still be open: the run that
#: finishes the instance resolves it (without the bit, no query is needed at the end).
WAIT_LIMIT = 8


def job_lease(inputs: dict[str, Any]) -> timedelta:
    """How long a claimed job's lease lasts: the configured lease, or longer when the step's own
    ``timeout`` input (the HTTP connector allows up to 120 s) plus a margin
    (``FLOWGATE_JOB_LEASE_MARGIN_SECONDS``, 15 s by default) exceeds it. A lease
    shorter than the call let the sweeper hand a still-running call to a second worker, which
    made the call twice (its result was applied once, but the other system saw two requests)."""
    lease = float(settings.FLOWGATE_JOB_LEASE_SECONDS)
    timeout = inputs.get("timeout") if isinstance(inputs, dict) else None
    if isinstance(timeout, int | float) and not isinstance(timeout, bool) and timeout > 0:
        lease = max(lease, float(timeout) + float(settings.FLOWGATE_JOB_LEASE_MARGIN_SECONDS))
    return timedelta(seconds=lease)


def sync_jobs(
    instance: ProcessInstance,
    service_tasks,
    now: datetime,
    *,
    claim_for: str | None,
    fresh: bool = False,
    active: set[str] | None = None,
) -> list[Job]:
    waiting = {s.task_id: s for s in service_tasks}
    if fresh and not waiting:
        return []
    live = [JobStatus.PENDING, JobStatus.RUNNING, JobStatus.INCIDENT]
    if fresh:
        active = set()
    elif active is None:
        active = set(
            Job.objects.filter(instance=instance, status__in=live).values_list("task_id", flat=True)
        )
    gone = [task_id for task_id in active if task_id not in waiting]
    if gone:
        gone_jobs = Job.objects.filter(instance=instance, task_id__in=gone, status__in=live)
        INCIDENT_TRANSITIONS.update(
            Incident.objects.filter(job__in=gone_jobs, status=IncidentStatus.OPEN),
            IncidentStatus.RESOLVED,
            resolved_at=now,
        )
        JOB_TRANSITIONS.update(gone_jobs, JobStatus.CANCELLED, finished_at=now)
    new = [s for task_id, s in waiting.items() if task_id not in active]
    if not new:
        return []
    jobs = []
    traceparent = tracing.job_traceparent(instance.traceparent)
    for index, info in enumerate(new):
        # The first new job runs inline; further ones (parallel branches) too when their connector
        # is an in-process function (no I/O to overlap), otherwise other workers take them.
        inline = claim_for is not None and (index == 0 or runs_in_process(info.connector))
        jobs.append(
            new_job(
                instance.pk,
                info,
                now=now,
                status=JobStatus.RUNNING if inline else JobStatus.PENDING,
                attempts=1 if inline else 0,
                locked_by=claim_for or "" if inline else "",
                lease_expires_at=now + job_lease(info.inputs) if inline else None,
                started_at=now if inline else None,
                enqueued_at=None if inline else now,
                traceparent=traceparent,
            )
        )
    created = insert_rows(jobs)
    claimed = [j for j in created if j.status == JobStatus.RUNNING]
    if instance.status == InstanceStatus.RUNNING:
        ring_after_commit((j.pk, instance.pk) for j in created if j.status == JobStatus.PENDING)
    return claimed


def new_job(instance_id: int, info: core.ServiceTaskInfo, *, now: datetime, **state: Any) -> Job:
    """An unsaved row for a service task the engine now waits on; ``state`` = status fields."""
    return Job(
        instance_id=instance_id,
        task_id=info.task_id,
        activity_id=info.activity_id,
        connector=info.connector,
        inputs=info.inputs,
        max_attempts=max(1, int(info.max_attempts or 1)),
        run_after=now,
        created_at=now,
        **state,
    )


def timer_rows_sync(instance: ProcessInstance, timers) -> None:
    """The instance's timer rows as the engine's waiting timers say (after an operation)."""
    _sync_timers(instance, timers)


def _sync_timers(instance: ProcessInstance, timers) -> None:
    waiting = {t.task_id: t for t in timers}
    active = {
        t.task_id: t
        for t in Timer.objects.filter(instance=instance, fired_at__isnull=True, cancelled=False)
    }
    gone = [t.pk for task_id, t in active.items() if task_id not in waiting]
    if gone:
        Timer.objects.filter(pk__in=gone).update(cancelled=True)
    for task_id, info in waiting.items():
        current = active.get(task_id)
        if current is not None:
            if current.due_at != info.due_at:
                current.due_at = info.due_at
                current.save(update_fields=["due_at"])
            continue
        # A cycle timer re-arms under the same activity-instance id.
        Timer.objects.update_or_create(
            instance=instance,
            task_id=task_id,
            defaults={
                "activity_id": info.activity_id,
                "due_at": info.due_at,
                "fired_at": None,
                "cancelled": False,
            },
        )


def _sync_subscriptions(instance: ProcessInstance, waits) -> None:
    """Subscriptions in step with the message waits, whose correlation key the engine computes
    from the model's expression on each read: a row whose key (or message) differs now (an
    instance moved to a version with another key expression) is updated."""
    waiting = {w.task_id: w for w in waits}
    existing = {
        row.task_id: row
        for row in MessageSubscription.objects.filter(instance=instance).only(
            "pk", "task_id", "activity_id", "message_name", "correlation_key"
        )
    }
    gone = set(existing) - set(waiting)
    if gone:
        MessageSubscription.objects.filter(instance=instance, task_id__in=gone).delete()
    for task_id, row in existing.items():
        wait = waiting.get(task_id)
        if wait is None:
            continue
        now = (wait.activity_id, wait.message_name, wait.correlation_key or "")
        if (row.activity_id, row.message_name, row.correlation_key) != now:
            MessageSubscription.objects.filter(pk=row.pk).update(
                activity_id=now[0], message_name=now[1], correlation_key=now[2]
            )
    MessageSubscription.objects.bulk_create(
        [
            MessageSubscription(
                instance=instance,
                task_id=w.task_id,
                activity_id=w.activity_id,
                message_name=w.message_name,
                correlation_key=w.correlation_key or "",
            )
            for task_id, w in waiting.items()
            if task_id not in existing
        ]
    )


def sync_waits(
    instance: ProcessInstance, effects: core.Effects, *, had: int, now: datetime, actor: Actor
) -> None:
    """Timer rows, message subscriptions and user tasks (through the hook) in step with what the
    engine waits on. Skips the kinds the instance never had and does not need now (a query
    each)."""
    if effects.timers or had & WAIT_TIMERS:
        _sync_timers(instance, effects.timers)
    if effects.message_waits or had & WAIT_MESSAGES:
        _sync_subscriptions(instance, effects.message_waits)
    if effects.user_tasks or had & WAIT_TASKS:
        user_tasks_changed.send(
            instance=instance, user_tasks=effects.user_tasks, now=now, actor=actor
        )
