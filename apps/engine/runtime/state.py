"""An instance's state and its projections: lock it, load it, persist what the core produced.

Every engine action ends in one of four named writes, by what caused it:

- ``persist_start``: a new instance (INSERT, "instance started" first);
- ``persist_advance``: a person or the scheduler advanced it (user task, operator, timer, message);
- ``persist_job_result``: a job's result on the lease path (the worker claims the next job inline);
- ``persist_chain``: a chain run ahead of the lock (its job events are already built).

Each writes the new state and brings the projection rows in step with what the core now waits
on — job rows (service tasks), timer rows, message subscriptions — tells the user-task hook
(the inbox keeps its HumanTask rows) and the advance hook, and writes the audit events of the
advance, all in the caller's transaction. The order is the same on every path: state row, jobs,
waits, engine-limit incident, advance hook, audit events (one INSERT).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, cast

from django.db import connection
from django.utils import timezone

from apps.audit.actions import AuditAction
from apps.audit.services import audit_event, record_many
from apps.common import tracing
from apps.common.actors import Actor
from apps.common.db import insert_rows, update_row
from apps.common.errors import InvalidInput, NotFound, Unprocessable
from apps.engine import core
from apps.engine.models import (
    INCIDENT_TRANSITIONS,
    Incident,
    IncidentStatus,
    InstanceStatus,
    Job,
    ProcessInstance,
)
from apps.engine.runners import runner_for_version
from apps.engine.runtime.hooks import instance_advanced
from apps.engine.runtime.projections import (
    WAIT_LIMIT,
    WAIT_MESSAGES,
    WAIT_TASKS,
    WAIT_TIMERS,
    sync_jobs,
    sync_waits,
)
from apps.processes.models import ProcessVersion

WORKER_ACTOR = Actor.system("worker")
SCHEDULER_ACTOR = Actor.system("scheduler")
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


#: The caller's audit event for an advance, as (action, audit_event fields): it also carries
#: the activities the advance stepped through (one event, not two).
StepEvent = tuple[AuditAction, dict]


# --- the write path: one entry per kind of caller ------------------------------------------------


def _effects(handle: core.Instance) -> core.Effects:
    """What the engine now waits on. Reading it evaluates the model's expressions for the new
    waits (a message's correlation key, a timer's date): one that fails on this instance's data
    is the caller's 422 with the model's words, and the transaction writes nothing."""
    try:
        return handle.effects()
    except (core.ExpressionError, core.WorkflowRuntimeError) as exc:
        raise Unprocessable(
            f"The process could not continue with this data: {exc}", code="process_stuck"
        ) from None


def persist_start(
    instance: ProcessInstance,
    handle: core.Instance,
    *,
    actor: Actor,
    started: Callable[[ProcessInstance], Any],
) -> None:
    """Insert a new instance with its first state and effects. ``started(instance)`` builds the
    "instance started" audit event once the row has its id; it also carries the first run's
    steps (the start event, gateways before the first wait). Requires: inside the caller's
    transaction."""
    effects = _effects(handle)
    now = timezone.now()
    had = instance.waits
    finished, _ = _apply_state(instance, handle, effects, now)
    insert_rows([instance])  # the INSERT carries the first state
    first = started(instance)
    first_steps = activity_steps(effects.events)
    if first_steps:
        first.data = {**(first.data or {}), "steps": first_steps}
    events: list = []
    if effects.user_tasks:
        record_many([first])  # the inbox records each new task at once: "started" goes first
    else:
        events.append(first)
    sync_jobs(instance, effects.service_tasks, now, claim_for=None, fresh=True)
    sync_waits(instance, effects, had=had, now=now, actor=actor)
    events += _limit_events(instance, effects, had=had, finished=finished, now=now, actor=actor)
    events += _compensation_events(instance, effects, actor=actor)
    events += _finished_events(instance, finished=finished, actor=actor)
    record_many(events)


def persist_advance(
    instance: ProcessInstance,
    handle: core.Instance,
    *,
    actor: Actor,
    event: StepEvent | None = None,
    row_fields: Sequence[str] = (),
) -> None:
    """Write an advance a person or the scheduler caused (a completed user task, an operator's
    retry or token move, a fired timer, a correlated message, a migration). ``event`` is the
    caller's audit event; without one, the steps are audited as "step completed".
    ``row_fields``: other fields of the row the caller changed, written in the same UPDATE (a
    migration's version). New jobs go to the workers. Requires: the instance row is locked."""
    tracing.link_current_to(instance.traceparent)
    written = _write(instance, handle, actor=actor, claim_for=None, row_fields=row_fields)
    steps = activity_steps(written.effects.events)
    _announce(instance, written, actor=actor, steps=steps, by_worker=False)
    record_many(
        [
            *written.events,
            *_step_events(instance, event, steps=steps, actor=actor),
            *_finished_events(instance, finished=written.finished, actor=actor),
        ]
    )


def persist_job_result(
    instance: ProcessInstance,
    handle: core.Instance,
    *,
    worker_id: str,
    event: StepEvent | None = None,
) -> list[Job]:
    """Write an advance a job's result caused (on the lease path), as the worker. Returns the
    new jobs this worker claimed to run next (inline). Requires: the instance row is locked."""
    written = _write(instance, handle, actor=WORKER_ACTOR, claim_for=worker_id)
    steps = activity_steps(written.effects.events)
    _announce(instance, written, actor=WORKER_ACTOR, steps=steps, by_worker=True)
    record_many(
        [
            *written.events,
            *_step_events(instance, event, steps=steps, actor=WORKER_ACTOR),
            *_finished_events(instance, finished=written.finished, actor=WORKER_ACTOR),
        ]
    )
    return written.claimed


def persist_chain(
    instance: ProcessInstance,
    handle: core.Instance,
    *,
    worker_id: str,
    job_events: list,
    active_jobs: set[str],
) -> list[Job]:
    """Write the advance of a chain run ahead of the lock. ``job_events`` (unsaved) already
    describe each step and are written with the completion event in one INSERT; ``active_jobs``
    are the task ids whose job rows stay pending, running or incident (saves a query). Returns
    the new jobs this worker claimed. Requires: the instance row is locked."""
    written = _write(
        instance, handle, actor=WORKER_ACTOR, claim_for=worker_id, active_jobs=active_jobs
    )
    _announce(instance, written, actor=WORKER_ACTOR, steps=[], by_worker=True)
    record_many(
        [
            *written.events,
            *job_events,
            *_finished_events(instance, finished=written.finished, actor=WORKER_ACTOR),
        ]
    )
    return written.claimed


# --- shared steps of the write path --------------------------------------------------------------


@dataclass
class _Written:
    """What writing an existing instance's advance did, for the rest of its path."""

    effects: core.Effects
    now: datetime
    finished: bool
    claimed: list[Job]
    events: list  # unsaved audit events so far (an engine-limit incident opened)


def _write(
    instance: ProcessInstance,
    handle: core.Instance,
    *,
    actor: Actor,
    claim_for: str | None,
    active_jobs: set[str] | None = None,
    row_fields: Sequence[str] = (),
) -> _Written:
    """Update an existing instance's row and bring its projections in step; ``claim_for`` (a
    worker id) claims the new jobs it runs inline."""
    effects = _effects(handle)
    now = timezone.now()
    had = instance.waits
    finished, update_fields = _apply_state(instance, handle, effects, now)
    update_row(instance, [*update_fields, *(f for f in row_fields if f not in update_fields)])
    claimed = sync_jobs(
        instance, effects.service_tasks, now, claim_for=claim_for, active=active_jobs
    )
    sync_waits(instance, effects, had=had, now=now, actor=actor)
    events = _limit_events(instance, effects, had=had, finished=finished, now=now, actor=actor)
    events += _compensation_events(instance, effects, actor=actor)
    return _Written(effects=effects, now=now, finished=finished, claimed=claimed, events=events)


def _apply_state(
    instance: ProcessInstance, handle: core.Instance, effects: core.Effects, now: datetime
) -> tuple[bool, list[str]]:
    """Copy the engine's state onto the row (unsaved). Returns (finished now, changed fields)."""
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
    halted = bool(effects.halted) or bool(instance.waits & WAIT_LIMIT)
    waits = (
        (WAIT_TIMERS if effects.timers else 0)
        | (WAIT_MESSAGES if effects.message_waits else 0)
        | (WAIT_TASKS if effects.user_tasks else 0)
        | (WAIT_LIMIT if halted and not finished else 0)
    )
    if waits != instance.waits:
        instance.waits = waits
        update_fields.append("waits")
    return finished, update_fields


def _limit_events(
    instance: ProcessInstance,
    effects: core.Effects,
    *,
    had: int,
    finished: bool,
    now: datetime,
    actor: Actor,
) -> list:
    """A run a limit stopped opens its incident; a run that finished resolves the open one (a
    later run did the stopped work; ``had``: the instance's wait bits before this run, whose
    WAIT_LIMIT says one may be open). Returns the audit events to write."""
    if effects.halted:
        return _engine_limit_incident(instance, effects, actor=actor)
    if finished and had & WAIT_LIMIT:
        INCIDENT_TRANSITIONS.update(
            Incident.objects.filter(
                instance=instance, kind=ENGINE_LIMIT_INCIDENT, status=IncidentStatus.OPEN
            ),
            IncidentStatus.RESOLVED,
            resolved_at=now,
        )
    return []


def _announce(
    instance: ProcessInstance, written: _Written, *, actor: Actor, steps: list, by_worker: bool
) -> None:
    instance_advanced.send(
        instance=instance,
        now=written.now,
        actor=actor,
        steps=steps,
        finished=written.finished,
        by_worker=by_worker,
    )


def _step_events(
    instance: ProcessInstance, event: StepEvent | None, *, steps: list, actor: Actor
) -> list:
    """The caller's event carrying the steps, or "step completed" when there were steps."""
    if event is not None:
        action, fields = event
        fields = dict(fields)
        data = {**(fields.pop("data", None) or {}), "steps": steps}
        return [audit_event(action, instance=instance, actor=actor, data=data, **fields)]
    if steps:
        return [
            audit_event(
                AuditAction.STEP_COMPLETED, instance=instance, actor=actor, data={"steps": steps}
            )
        ]
    return []


_COMPENSATION_ACTIONS = {
    "started": AuditAction.COMPENSATION_STARTED,
    "handler": AuditAction.COMPENSATION_HANDLER,
    "finished": AuditAction.COMPENSATION_FINISHED,
}


def _compensation_events(instance: ProcessInstance, effects: core.Effects, *, actor: Actor):
    """What the compensations of this advance did: started, each activation undone, finished."""
    return [
        audit_event(_COMPENSATION_ACTIONS[e.kind], instance=instance, actor=actor, data=e.data)
        for e in effects.compensation
    ]


def _finished_events(instance: ProcessInstance, *, finished: bool, actor: Actor) -> list:
    if not finished:
        return []
    return [
        audit_event(
            AuditAction.INSTANCE_COMPLETED
            if instance.status == InstanceStatus.COMPLETED
            else AuditAction.INSTANCE_CANCELLED,
            instance=instance,
            actor=actor,
            after={"status": instance.status, "variables": instance.variables},
        )
    ]


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
        audit_event(
            AuditAction.INCIDENT_OPENED,
            instance=instance,
            actor=actor,
            data={
                "incident_id": incident.pk,
                "activity_id": incident.activity_id,
                "kind": ENGINE_LIMIT_INCIDENT,
                "message": message,
            },
        )
    ]


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
