"""An instance's state and its projections: lock it, load it, persist what the core produced.

Every engine action ends in ``persist()``: it writes the new state and brings the projection rows
in step with what the core now waits on — job rows (service tasks), timer rows, message
subscriptions — tells the registered listeners about user tasks (the inbox keeps its HumanTask
rows), and writes the audit events of the advance, all in the caller's transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, cast

from django.conf import settings
from django.db import connection
from django.utils import timezone

from apps.audit.actions import AuditAction
from apps.audit.services import instance_event, record_many
from apps.common.actors import Actor
from apps.common.db import insert_rows, update_row
from apps.common.errors import InvalidInput, NotFound
from apps.connectors.registry import runs_in_process
from apps.engine import core
from apps.engine.models import (
    Incident,
    IncidentStatus,
    InstanceStatus,
    Job,
    JobStatus,
    MessageSubscription,
    ProcessInstance,
    Timer,
)
from apps.engine.runners import runner_for_version
from apps.engine.runtime.hooks import instance_advanced, ring_after_commit, user_tasks_changed
from apps.processes.models import ProcessVersion

WORKER_ACTOR = Actor.system("worker")
SCHEDULER_ACTOR = Actor.system("scheduler")
WAIT_TIMERS, WAIT_MESSAGES, WAIT_TASKS = 1, 2, 4
MAX_VARIABLES_BYTES = 256 * 1024
#: The kind of the incident a run opens when a limit of docs/engine/limits.md stopped it.
ENGINE_LIMIT_INCIDENT = "engine_limit"


@dataclass
class Advance:
    """What one advance produced for the caller: jobs to run inline (already claimed)."""

    instance: ProcessInstance
    claimed_jobs: list[Job]


def qn(name: str | None) -> str:
    return connection.ops.quote_name(cast(str, name))


def instance_select(extra: str = "") -> str:
    """SELECT every instance column (alias i) and its version's checksum (the runner cache key,
    alias v), plus ``extra`` columns; the caller adds FROM's joins and WHERE."""
    columns = ", ".join(f"i.{qn(f.column)}" for f in ProcessInstance._meta.concrete_fields)
    return (
        f"SELECT {columns}, v.{qn('checksum')} AS version_checksum{extra} "  # noqa: S608
        f"FROM {qn(ProcessInstance._meta.db_table)} i "
        f"INNER JOIN {qn(ProcessVersion._meta.db_table)} v "
        f"ON v.{qn('id')} = i.{qn('version_id')} "
    )


@cache
def _lock_sql(vendor: str) -> str:
    """The instance row with its version's checksum, locked."""
    sql = instance_select() + f"WHERE i.{qn('id')} = %s"
    return sql + (" FOR UPDATE OF i" if connection.features.has_select_for_update_of else "")


def instance_lock(*, instance_id: int) -> ProcessInstance:
    """Lock and return an instance row (with ``version_checksum``). Must be called inside
    ``transaction.atomic``. Raw SQL: every engine step starts here, and compiling the ORM query
    cost as much as running it."""
    rows = list(ProcessInstance.objects.raw(_lock_sql(connection.vendor), [instance_id]))
    if not rows:
        raise NotFound(f"Process instance {instance_id} does not exist.")
    return rows[0]


def load(instance: ProcessInstance) -> core.Instance:
    checksum = getattr(instance, "version_checksum", None) or instance.version.checksum
    runner = runner_for_version(instance.version_id, checksum, instance.called_versions or None)
    return runner.load(instance.state)


def persist(
    instance: ProcessInstance,
    handle: core.Instance,
    *,
    actor: Actor,
    claim_for: str | None = None,
    created: bool = False,
    on_created=None,
    step_event: tuple[AuditAction, dict] | None = None,
    audit_events: list | None = None,
    active_jobs: set[str] | None = None,
) -> Advance:
    """Write the engine's new state and its effects. Requires: the instance row is locked.

    ``audit_events`` (unsaved, from a chain) already describe the steps and are written together
    with the completion event in one INSERT. ``active_jobs`` are the task ids whose job rows are
    pending, running or incident, when the caller knows them (saves a query).
    """
    effects = handle.effects()
    now = timezone.now()
    instance.state = handle.dump()
    instance.variables = effects.variables
    instance.steps += 1
    update_fields = ["state", "variables", "steps", "updated_at"]
    finished = False
    if effects.status == "completed" and instance.status != InstanceStatus.COMPLETED:
        instance.transition_to(InstanceStatus.COMPLETED)
        instance.ended_at = now
        update_fields += ["status", "ended_at"]
        finished = True
    elif effects.status == "cancelled" and instance.status != InstanceStatus.CANCELLED:
        instance.transition_to(InstanceStatus.CANCELLED)
        instance.ended_at = now
        update_fields += ["status", "ended_at"]
        finished = True
    had = instance.waits
    waits = (
        (WAIT_TIMERS if effects.timers else 0)
        | (WAIT_MESSAGES if effects.message_waits else 0)
        | (WAIT_TASKS if effects.user_tasks else 0)
    )
    if waits != had:
        instance.waits = waits
        update_fields.append("waits")
    events: list = []
    if created:
        insert_rows([instance])  # the INSERT carries the first state
        if on_created is not None:
            first = on_created(instance)
            # the first run's steps (the start event, gateways before the first wait): the
            # diagram marks them done as it does every later step
            first_steps = activity_steps(effects.events)
            if first_steps:
                first.data = {**(first.data or {}), "steps": first_steps}
            if effects.user_tasks:
                # the inbox records each new task at once: "started" goes first (history order)
                record_many([first])
            else:
                events.append(first)
    else:
        update_row(instance, update_fields)

    claimed = _sync_jobs(
        instance,
        effects.service_tasks,
        now,
        claim_for=claim_for,
        fresh=created,
        active=active_jobs,
    )
    # Skip the projections an instance never had and does not need now (saves a query each).
    if effects.timers or had & WAIT_TIMERS:
        _sync_timers(instance, effects.timers)
    if effects.message_waits or had & WAIT_MESSAGES:
        _sync_subscriptions(instance, effects.message_waits)
    if effects.user_tasks or had & WAIT_TASKS:
        user_tasks_changed(instance=instance, user_tasks=effects.user_tasks, now=now, actor=actor)

    if effects.halted:
        events.extend(_engine_limit_incident(instance, effects, actor=actor))
    elif finished:  # a later run did the stopped work: its incident has nothing left to say
        Incident.objects.filter(
            instance=instance, kind=ENGINE_LIMIT_INCIDENT, status=IncidentStatus.OPEN
        ).update(status=IncidentStatus.RESOLVED, resolved_at=now)
    events.extend(audit_events or ())
    steps = activity_steps(effects.events) if audit_events is None else []
    if not created:
        instance_advanced(
            instance=instance,
            now=now,
            actor=actor,
            steps=steps,
            finished=finished,
            by_worker=claim_for is not None,
        )
    if step_event is not None:  # the caller's event carries the steps (one event, not two)
        action, fields = step_event
        data = {**(fields.pop("data", None) or {}), "steps": steps}
        events.append(instance_event(action, instance, actor=actor, data=data, **fields))
    elif steps and not created:
        events.append(
            instance_event(AuditAction.STEP_COMPLETED, instance, actor=actor, data={"steps": steps})
        )
    if finished:
        events.append(
            instance_event(
                AuditAction.INSTANCE_COMPLETED
                if instance.status == InstanceStatus.COMPLETED
                else AuditAction.INSTANCE_CANCELLED,
                instance,
                actor=actor,
                after={"status": instance.status, "variables": instance.variables},
            )
        )
    record_many(events)
    return Advance(instance=instance, claimed_jobs=claimed)


def _engine_limit_incident(instance: ProcessInstance, effects: core.Effects, *, actor: Actor):
    """A limit stopped the run before the instance waited: open an incident that says which and
    what to do (its retry runs the next steps), unless one is open already. Returns the audit
    event to write. Requires: the instance row is locked (or new)."""
    message = effects.halted or ""
    open_already = Incident.objects.filter(
        instance=instance, kind=ENGINE_LIMIT_INCIDENT, status=IncidentStatus.OPEN
    ).exists()
    if open_already:
        return []
    incident = Incident.objects.create(
        instance=instance,
        job=None,
        activity_id=effects.halted_at or "",
        kind=ENGINE_LIMIT_INCIDENT,
        message=message,
    )
    return [
        instance_event(
            AuditAction.INCIDENT_OPENED,
            instance,
            actor=actor,
            data={
                "incident_id": incident.pk,
                "activity_id": incident.activity_id,
                "kind": ENGINE_LIMIT_INCIDENT,
                "message": message,
            },
        )
    ]


def _sync_jobs(
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
        Incident.objects.filter(job__in=gone_jobs, status=IncidentStatus.OPEN).update(
            status=IncidentStatus.RESOLVED, resolved_at=now
        )
        gone_jobs.update(status=JobStatus.CANCELLED, finished_at=now)
    new = [s for task_id, s in waiting.items() if task_id not in active]
    if not new:
        return []
    lease = timedelta(seconds=settings.FLOWGATE_JOB_LEASE_SECONDS)
    jobs = []
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
                lease_expires_at=now + lease if inline else None,
                started_at=now if inline else None,
                enqueued_at=None if inline else now,
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
    waiting = {w.task_id: w for w in waits}
    existing = set(
        MessageSubscription.objects.filter(instance=instance).values_list("task_id", flat=True)
    )
    gone = existing - set(waiting)
    if gone:
        MessageSubscription.objects.filter(instance=instance, task_id__in=gone).delete()
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


def activity_steps(activity_events) -> list[dict]:
    return [
        {"kind": e.kind, "activity_id": e.activity_id, "type": e.activity_type}
        for e in activity_events
        if e.kind in ("entered", "completed", "cancelled")
    ]


def check_variables(variables: Any) -> dict:
    if variables is None:
        return {}
    if not isinstance(variables, dict):
        raise InvalidInput(
            "Variables must be a JSON object (name -> value).", code="invalid_variables"
        )

    try:
        size = len(json.dumps(variables))
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"Variables must be JSON values: {exc}", code="invalid_variables"
        ) from None
    if size > MAX_VARIABLES_BYTES:
        raise InvalidInput(
            f"Variables are {size} bytes; the limit is {MAX_VARIABLES_BYTES}.",
            code="variables_too_large",
        )
    bad = [
        k for k in variables if not isinstance(k, str) or not k.isidentifier() or k.startswith("_")
    ]
    if bad:
        raise InvalidInput(
            "Variable names must be identifiers that do not start with '_': "
            + ", ".join(map(str, bad)),
            code="invalid_variables",
        )
    return variables
