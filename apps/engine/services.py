"""Engine writes: start, advance, jobs, timers, messages, incidents.

Every function that advances an instance locks its row first (``select_for_update``), loads the
engine state, lets ``apps.engine.core`` advance it, persists the effects (jobs, timers, message
subscriptions, human tasks) and writes audit events in the same transaction. Celery messages are
sent only after commit and only say "look at job N": the rows are the truth.
"""

from __future__ import annotations

import json
import logging
import random
import traceback
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, cast

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from apps.audit.actions import AuditAction
from apps.audit.services import Actor, instance_event, record_for_instance, record_many
from apps.common.context import bound
from apps.common.db import insert_rows, update_row
from apps.common.errors import Conflict, InvalidInput, NotFound, Unprocessable
from apps.engine import core
from apps.engine.models import (
    Incident,
    IncidentStatus,
    InstanceStatus,
    Job,
    JobStatus,
    MessageSubscription,
    ProcessInstance,
    StartSchedule,
    Timer,
)
from apps.engine.runners import runner_for, runner_for_version
from apps.inbox.projection import human_tasks_sync
from apps.processes.models import ProcessVersion, VersionStatus

logger = logging.getLogger(__name__)

WORKER_ACTOR = Actor.system("worker")
WAIT_TIMERS, WAIT_MESSAGES, WAIT_TASKS = 1, 2, 4
SCHEDULER_ACTOR = Actor.system("scheduler")
MAX_VARIABLES_BYTES = 256 * 1024


def _settings_int(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def _settings_float(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


# --- enqueueing (after commit only) -------------------------------------------------------------


def _enqueue_after_commit(jobs: Iterable[tuple[int, int]]) -> None:
    """Ring the doorbell for (job id, instance id) pairs once the transaction commits."""
    pairs = list(jobs)
    if not pairs:
        return

    def send() -> None:
        from apps.engine.tasks import run_job

        for job_id, instance_id in pairs:
            try:
                run_job.delay(job_id, instance_id)
            except Exception:  # broker down: the sweeper re-enqueues from the rows
                logger.warning("could not enqueue job %s; the sweeper will pick it up", job_id)

    transaction.on_commit(send)


# --- advancing ---------------------------------------------------------------------------------


@dataclass
class Advance:
    """What one advance produced for the caller: jobs to run inline (already claimed)."""

    instance: ProcessInstance
    claimed_jobs: list[Job]


def _qn(name: str | None) -> str:
    return connection.ops.quote_name(cast(str, name))


def _instance_select(extra: str = "") -> str:
    """SELECT every instance column (alias i) and its version's checksum (the runner cache key,
    alias v), plus ``extra`` columns; the caller adds FROM's joins and WHERE."""
    columns = ", ".join(f"i.{_qn(f.column)}" for f in ProcessInstance._meta.concrete_fields)
    return (
        f"SELECT {columns}, v.{_qn('checksum')} AS version_checksum{extra} "  # noqa: S608
        f"FROM {_qn(ProcessInstance._meta.db_table)} i "
        f"INNER JOIN {_qn(ProcessVersion._meta.db_table)} v "
        f"ON v.{_qn('id')} = i.{_qn('version_id')} "
    )


@cache
def _lock_sql(vendor: str) -> str:
    """The instance row with its version's checksum, locked."""
    sql = _instance_select() + f"WHERE i.{_qn('id')} = %s"
    return sql + (" FOR UPDATE OF i" if connection.features.has_select_for_update_of else "")


def instance_lock(*, instance_id: int) -> ProcessInstance:
    """Lock and return an instance row (with ``version_checksum``). Must be called inside
    ``transaction.atomic``. Raw SQL: every engine step starts here, and compiling the ORM query
    cost as much as running it."""
    rows = list(ProcessInstance.objects.raw(_lock_sql(connection.vendor), [instance_id]))
    if not rows:
        raise NotFound(f"Process instance {instance_id} does not exist.")
    return rows[0]


def _load(instance: ProcessInstance) -> core.Instance:
    checksum = getattr(instance, "version_checksum", None) or instance.version.checksum
    runner = runner_for_version(instance.version_id, checksum, instance.called_versions or None)
    return runner.load(instance.state)


def _called_versions_now(version: ProcessVersion) -> dict[str, int]:
    """For call activities bound to the latest version: the called versions newer than those the
    deployed spec embeds. An instance keeps what it started with."""
    keys = version.metadata.get("called_latest") or []
    if not keys:
        return {}
    embedded = version.metadata.get("called_versions") or {}
    latest: dict[str, tuple[int, int]] = {}
    for key, pk, number in ProcessVersion.objects.filter(
        definition__key__in=keys, status=VersionStatus.DEPLOYED
    ).values_list("definition__key", "pk", "number"):
        if key not in latest or number > latest[key][1]:
            latest[key] = (pk, number)
    return {key: pk for key, (pk, _) in latest.items() if embedded.get(key) != pk}


def _persist(
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
            events.append(on_created(instance))
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
        human_tasks_sync(instance=instance, user_tasks=effects.user_tasks, now=now, actor=actor)

    events.extend(audit_events or ())
    steps = _steps(effects.events) if audit_events is None else []
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
    lease = timedelta(seconds=_settings_int("FLOWGATE_JOB_LEASE_SECONDS", 60))
    jobs = []
    for index, info in enumerate(new):
        # The first new job runs inline; further ones (parallel branches) too when their connector
        # is an in-process function (no I/O to overlap), otherwise other workers take them.
        inline = claim_for is not None and (index == 0 or _runs_in_process(info.connector))
        jobs.append(
            _new_job(
                instance.pk,
                info,
                now=now,
                status=JobStatus.RUNNING if inline else JobStatus.PENDING,
                attempts=1 if inline else 0,
                locked_by=claim_for or "" if inline else "",
                lease_expires_at=now + lease if inline else None,
                enqueued_at=None if inline else now,
            )
        )
    created = insert_rows(jobs)
    claimed = [j for j in created if j.status == JobStatus.RUNNING]
    if instance.status == InstanceStatus.RUNNING:
        _enqueue_after_commit((j.pk, instance.pk) for j in created if j.status == JobStatus.PENDING)
    return claimed


def _new_job(instance_id: int, info: core.ServiceTaskInfo, *, now: datetime, **state: Any) -> Job:
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


def _runs_in_process(connector_name: str) -> bool:
    from apps.connectors.registry import FunctionConnector, get

    try:
        return isinstance(get(connector_name), FunctionConnector)
    except NotFound:
        return False


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


# --- instances ---------------------------------------------------------------------------------


def _check_variables(variables: Any) -> dict:
    if variables is None:
        return {}
    if not isinstance(variables, dict):
        raise InvalidInput(
            "Variables must be a JSON object (name -> value).", code="invalid_variables"
        )
    import json

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


def version_latest_deployed(*, process_key: str) -> ProcessVersion:
    version = (
        ProcessVersion.objects.filter(definition__key=process_key, status=VersionStatus.DEPLOYED)
        .order_by("-number")
        .first()
    )
    if version is None:
        raise NotFound(f"No deployed version of process '{process_key}'.", code="process_not_found")
    return version


def instance_start(
    *,
    version: ProcessVersion | None = None,
    process_key: str | None = None,
    variables: dict | None = None,
    business_key: str = "",
    actor: Actor,
    started_by=None,
    start_event_id: str | None = None,
    message: tuple[str, dict] | None = None,
) -> ProcessInstance:
    """Start an instance of ``version`` (or the latest deployed version of ``process_key``)."""
    variables = _check_variables(variables)
    if version is None:
        if not process_key:
            raise InvalidInput("Give a process key or a version.", code="missing_process")
        version = version_latest_deployed(process_key=process_key)
    elif version.status != VersionStatus.DEPLOYED:
        raise Conflict(
            f"Version {version.pk} is a draft and cannot be started.", code="version_not_deployed"
        )
    if len(business_key) > 200:
        raise InvalidInput(
            "The business key is limited to 200 characters.", code="invalid_business_key"
        )
    called = _called_versions_now(version)
    try:
        runner = runner_for(version, called)
        handle = runner.start(dict(variables), start_event_id=start_event_id, message=message)
    except (core.ExpressionError, core.EngineError) as exc:
        raise Unprocessable(f"The process could not start: {exc}", code="start_failed") from None
    with transaction.atomic():
        instance = ProcessInstance(
            version=version,
            process_key=version.definition.key,
            business_key=business_key,
            started_by=started_by,
            called_versions=called,
        )

        def started(created: ProcessInstance):
            return instance_event(
                AuditAction.INSTANCE_STARTED,
                created,
                actor=actor,
                after={"business_key": business_key, "variables": variables},
            )

        _persist(instance, handle, actor=actor, created=True, on_created=started)
        if started_by is not None:
            from apps.accounts import permissions
            from apps.accounts.roles import PERM_VIEW_INSTANCE

            permissions.grant(PERM_VIEW_INSTANCE, obj=instance, user=started_by)
    return instance


def _require_running(instance: ProcessInstance) -> None:
    if instance.status != InstanceStatus.RUNNING:
        raise Conflict(
            f"Instance {instance.pk} is {instance.status}; only running instances can advance.",
            code="instance_not_running",
        )


def user_task_complete(
    *, instance: ProcessInstance, task_id: str, data: dict, actor: Actor
) -> ProcessInstance:
    """Complete a waiting user task. Requires: ``instance`` locked by the caller (instance_lock)."""
    _require_running(instance)
    data = _check_variables(data)
    handle = _load(instance)
    try:
        handle.complete_user_task(task_id, data)
    except (core.TaskNotFound, core.TaskStateError):
        raise Conflict(
            "This task was already completed or is no longer waiting.", code="task_not_waiting"
        ) from None
    except core.TaskDataError as exc:
        raise InvalidInput(str(exc), code="invalid_data") from None
    except (core.ExpressionError, core.WorkflowRuntimeError) as exc:
        raise Unprocessable(
            f"The process could not continue with this data: {exc}", code="process_stuck"
        ) from None
    _persist(instance, handle, actor=actor)
    return instance


def instance_cancel(*, instance_id: int, actor: Actor, reason: str = "") -> ProcessInstance:
    with transaction.atomic():
        instance = instance_lock(instance_id=instance_id)
        before = instance.status
        instance.transition_to(InstanceStatus.CANCELLED)
        handle = _load(instance)
        handle.cancel()
        now = timezone.now()
        instance.state = handle.dump()
        instance.ended_at = now
        instance.save(update_fields=["status", "state", "ended_at", "updated_at"])
        jobs = list(
            instance.jobs.filter(
                status__in=[JobStatus.PENDING, JobStatus.RUNNING, JobStatus.INCIDENT]
            )
        )
        Job.objects.filter(pk__in=[j.pk for j in jobs]).update(
            status=JobStatus.CANCELLED, finished_at=now
        )
        instance.incidents.filter(status=IncidentStatus.OPEN).update(
            status=IncidentStatus.RESOLVED, resolved_at=now
        )
        instance.timers.filter(fired_at__isnull=True).update(cancelled=True)
        instance.subscriptions.all().delete()
        human_tasks_sync(instance=instance, user_tasks=[], now=now, actor=actor)
        record_for_instance(
            AuditAction.INSTANCE_CANCELLED,
            instance,
            actor=actor,
            before={"status": before},
            after={"status": instance.status},
            data={"reason": reason} if reason else None,
        )
    return instance


def _instance_pause_or_resume(
    *, instance_id: int, to: InstanceStatus, action: AuditAction, actor: Actor
) -> ProcessInstance:
    with transaction.atomic():
        instance = instance_lock(instance_id=instance_id)
        before = instance.status
        instance.transition_to(to)
        instance.save(update_fields=["status", "updated_at"])
        if to == InstanceStatus.RUNNING:  # jobs that waited during the suspension ring again
            pending = list(
                instance.jobs.filter(status=JobStatus.PENDING).values_list("pk", flat=True)
            )
            Job.objects.filter(pk__in=pending).update(enqueued_at=timezone.now())
            _enqueue_after_commit((pk, instance.pk) for pk in pending)
        record_for_instance(
            action, instance, actor=actor, before={"status": before}, after={"status": to}
        )
    return instance


def instance_suspend(*, instance_id: int, actor: Actor) -> ProcessInstance:
    return _instance_pause_or_resume(
        instance_id=instance_id,
        to=InstanceStatus.SUSPENDED,
        action=AuditAction.INSTANCE_SUSPENDED,
        actor=actor,
    )


def instance_resume(*, instance_id: int, actor: Actor) -> ProcessInstance:
    return _instance_pause_or_resume(
        instance_id=instance_id,
        to=InstanceStatus.RUNNING,
        action=AuditAction.INSTANCE_RESUMED,
        actor=actor,
    )


# --- jobs --------------------------------------------------------------------------------------


def retry_delay_seconds(attempt: int) -> float:
    """Exponential backoff with full jitter: uniform(0, min(cap, base * 2**(attempt-1)))."""
    base = _settings_float("FLOWGATE_JOB_RETRY_BASE_SECONDS", 2.0)
    cap = _settings_float("FLOWGATE_JOB_RETRY_MAX_SECONDS", 300.0)
    return random.uniform(0, min(cap, base * 2 ** max(0, attempt - 1)))  # noqa: S311 - jitter


def job_claim(*, job_id: int, worker_id: str) -> Job | None:
    """Take a lease on a job that is due (or whose previous lease expired). None if not claimable."""
    now = timezone.now()
    lease = timedelta(seconds=_settings_int("FLOWGATE_JOB_LEASE_SECONDS", 60))
    with transaction.atomic():
        job = (
            Job.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk=job_id, instance__status=InstanceStatus.RUNNING)
            .filter(
                Q(status=JobStatus.PENDING, run_after__lte=now)
                | Q(status=JobStatus.RUNNING, lease_expires_at__lt=now)
            )
            .first()
        )
        if job is None:
            return None
        job.status = JobStatus.RUNNING
        job.attempts += 1
        job.locked_by = worker_id
        job.lease_expires_at = now + lease
        job.save(update_fields=["status", "attempts", "locked_by", "lease_expires_at"])
    return job


def job_run(*, job_id: int, worker_id: str, execute=None, instance_id: int | None = None) -> int:
    """Run a job and what follows it in the same instance, without a broker hop between steps.

    A job whose connector is chainable runs together with every chainable step it leads to,
    their results applied in one transaction (``_job_chain``). Any other job is claimed with a lease,
    run outside the lock, and its result applied afterwards (``_job_execute``). Successors this
    worker claimed are run the same way, up to FLOWGATE_INLINE_CHAIN_LIMIT jobs. Returns the
    number of jobs executed.
    """
    limit = _settings_int("FLOWGATE_INLINE_CHAIN_LIMIT", 50)
    executed = 0
    queue: deque[Job] = deque()
    if instance_id is None:
        instance_id = Job.objects.filter(pk=job_id).values_list("instance_id", flat=True).first()
        if instance_id is None:
            return 0
    with bound(instance_id=instance_id):
        chained = _job_chain(job_id, instance_id, worker_id=worker_id, execute=execute, limit=limit)
    if chained is not None:
        executed, claimed = chained
        queue.extend(claimed)
    else:
        first = job_claim(job_id=job_id, worker_id=worker_id)
        queue.extend([first] if first is not None else [])
    while queue and executed < limit:
        job = queue.popleft()
        with bound(instance_id=job.instance_id):
            chained = _job_chain(
                job.pk,
                job.instance_id,
                worker_id=worker_id,
                execute=execute,
                limit=limit - executed,
                owned=job,
            )
            if chained is not None:
                count, claimed = chained
                executed += count
                queue.extend(claimed)
                continue
            queue.extend(_job_execute(job, worker_id=worker_id, execute=execute))
        executed += 1
    if queue:  # chain limit reached: hand the rest to the broker
        with transaction.atomic():
            for job in queue:
                Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING, locked_by=worker_id).update(
                    status=JobStatus.PENDING,
                    attempts=job.attempts - 1,
                    lease_expires_at=None,
                    enqueued_at=timezone.now(),
                )
            _enqueue_after_commit([(job.pk, job.instance_id) for job in queue])
    return executed


class _ChainAbort(Exception):
    """The engine could not apply a result ahead of the lock: redo the job step by step."""


@dataclass
class _ChainStep:
    """One step run ahead: its job (the first one's row, or an unsaved row), and its outcome."""

    job: Job
    action: AuditAction | None = None  # JOB_SUCCEEDED, or JOB_FAILED for a routed business error
    data: dict | None = None
    failure: dict | None = None  # _job_failure_apply's arguments when the attempt failed


@cache
def _peek_sql(vendor: str) -> str:
    """The instance row (unlocked) with its job's claim state: 1 = due for anyone, 2 = leased
    by the given worker, 0 = neither. For running a chain ahead of the lock."""
    j = {name: f"j.{_qn(name)}" for name in ("status", "run_after", "lease_expires_at")}
    extra = (
        f", j.{_qn('task_id')} AS job_task_id, j.{_qn('activity_id')} AS job_activity_id, "
        f"j.{_qn('connector')} AS job_connector, j.{_qn('inputs')} AS job_inputs, "
        f"j.{_qn('attempts')} AS job_attempts, j.{_qn('max_attempts')} AS job_max_attempts, "
        f"CASE WHEN ({j['status']} = %s AND {j['run_after']} <= %s) "
        f"OR ({j['status']} = %s AND {j['lease_expires_at']} < %s) THEN 1 "
        f"WHEN {j['status']} = %s AND j.{_qn('locked_by')} = %s THEN 2 ELSE 0 END AS job_claim"
    )
    return (
        _instance_select(extra)
        + f"INNER JOIN {_qn(Job._meta.db_table)} j ON j.{_qn('instance_id')} = i.{_qn('id')} "
        f"WHERE j.{_qn('id')} = %s AND i.{_qn('id')} = %s"
    )


def _job_chain(
    job_id: int,
    instance_id: int,
    *,
    worker_id: str,
    execute=None,
    limit: int,
    owned: Job | None = None,
) -> tuple[int, list[Job]] | None:
    """Run a chainable job and every chainable step it leads to, then apply them all at once.

    Optimistic, as Camunda's engine is: the instance is read without a lock, the connectors run
    (outside any lock or transaction) and their results are applied to that state in memory,
    step after step. Then one transaction locks the instance, checks that nobody advanced it
    meanwhile (its ``steps`` counter and status) and that the job is still ours to claim, and
    writes everything: one save, one commit for the whole chain. Otherwise nothing is written
    and the chain is run again (the connectors see the same idempotency keys).

    Returns (jobs executed, non-chainable jobs this worker claimed to run next), or None when
    the job is not one for this path (not chainable, not due, or the engine could not apply a
    result here): the caller then takes the lease path, one step per transaction.
    """
    from apps.connectors.registry import chainable_names

    names = chainable_names()
    if not names or (owned is not None and owned.connector not in names):
        return None
    for _attempt in range(3):
        try:
            ahead = _run_ahead(
                job_id,
                instance_id,
                worker_id=worker_id,
                execute=execute,
                limit=limit,
                names=set(names),
                owned=owned,
            )
        except _ChainAbort:
            return None
        if ahead is None:
            return None
        applied = _apply_chain(*ahead, worker_id=worker_id, owned=owned)
        if applied is not None:
            return applied
    return None  # the instance kept changing under us: step by step, under the lock


def _run_ahead(job_id, instance_id, *, worker_id, execute, limit, names, owned):
    """Read the instance and the job without locks and run the chain in memory."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    params = [JobStatus.PENDING, now, JobStatus.RUNNING, now, JobStatus.RUNNING, worker_id]
    rows = list(
        ProcessInstance.objects.raw(_peek_sql(connection.vendor), [*params, job_id, instance_id])
    )
    if not rows:
        return None
    snapshot: Any = rows[0]  # the instance, with the job's columns as extra attributes
    wanted = 2 if owned is not None else 1
    if (
        snapshot.status != InstanceStatus.RUNNING
        or snapshot.job_claim != wanted
        or snapshot.job_connector not in names
        or (owned is not None and snapshot.job_attempts != owned.attempts)
    ):
        return None
    inputs = snapshot.job_inputs
    first = Job(
        pk=job_id,
        instance_id=instance_id,
        task_id=snapshot.job_task_id,
        activity_id=snapshot.job_activity_id,
        connector=snapshot.job_connector,
        inputs=json.loads(inputs) if isinstance(inputs, str) else inputs,
        status=JobStatus.DONE,
        attempts=snapshot.job_attempts + (0 if owned is not None else 1),
        max_attempts=snapshot.job_max_attempts,
        locked_by=worker_id,
    )
    first._state.adding = False
    handle = _load(snapshot)
    # Every waiting service task has an active job row (each save syncs them); the first job's
    # row becomes done. ``active`` ends as the tasks whose rows stay pending/running/incident.
    active = {s.task_id for s in handle.service_tasks()} - {first.task_id}
    queue: deque[Job] = deque([first])
    steps: list[_ChainStep] = []
    queued = {first.task_id}
    now_dt = timezone.now()
    while queue:
        job = queue.popleft()
        seen = len(handle.events)
        step = _chain_step(handle, job, execute=execute)
        steps.append(step)
        if step.failure is not None or step.data is None:  # the row will say retry or incident
            active.add(job.task_id)
            continue
        step.data["steps"] = _steps(handle.events[seen:])
        room = limit - len(steps) - len(queue)
        if room <= 0:
            continue
        for info in handle.service_tasks():
            if room <= 0:
                break
            if info.connector in names and info.task_id not in active | queued:
                queued.add(info.task_id)
                room -= 1
                queue.append(
                    _new_job(
                        instance_id,
                        info,
                        now=now_dt,
                        status=JobStatus.DONE,
                        attempts=1,
                        locked_by=worker_id,
                        finished_at=now_dt,
                    )
                )
    return snapshot, handle, first, steps, active


def _apply_chain(
    snapshot: ProcessInstance,
    handle: core.Instance,
    first: Job,
    steps: list[_ChainStep],
    active: set[str],
    *,
    worker_id: str,
    owned: Job | None,
) -> tuple[int, list[Job]] | None:
    """Write a chain run ahead, if the instance and the job are as they were read."""
    table = _qn(ProcessInstance._meta.db_table)
    lock = f"SELECT status, steps FROM {table} WHERE id = %s"  # noqa: S608
    if connection.features.has_select_for_update:
        lock += " FOR UPDATE"
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(lock, [snapshot.pk])
            current = cursor.fetchone()
        if current is None or tuple(current) != (snapshot.status, snapshot.steps):
            return None
        if not _claim(first, worker_id=worker_id, owned=owned):
            return None
        chained = [step.job for step in steps[1:]]
        insert_rows(chained)
        events: list = []
        for step in steps:
            if step.failure is not None:
                record_many(events)
                events.clear()
                _job_failure_apply(snapshot, step.job, **step.failure)
                continue
            action = step.action or AuditAction.JOB_SUCCEEDED
            if action == AuditAction.JOB_FAILED:  # a business error, routed
                update_row(step.job, ["last_error"])
            events.append(
                instance_event(
                    action, snapshot, actor=WORKER_ACTOR, job_id=step.job.pk, data=step.data
                )
            )
        advance = _persist(
            snapshot,
            handle,
            actor=WORKER_ACTOR,
            claim_for=worker_id,
            audit_events=events,
            active_jobs=active,
        )
    return len(steps), advance.claimed_jobs


def _claim(job: Job, *, worker_id: str, owned: Job | None) -> bool:
    """Mark the first job of a chain done, if it is still as it was read (one UPDATE)."""
    now = timezone.now()
    job.finished_at = now
    at = connection.ops.adapt_datetimefield_value(now)
    if owned is None:  # due (or its lease expired), and not attempted since we read it
        condition = (
            "((status = %s AND run_after <= %s) OR (status = %s AND lease_expires_at < %s)) "
            "AND attempts = %s"
        )
        params = [JobStatus.PENDING, at, JobStatus.RUNNING, at, job.attempts - 1]
    else:  # still leased by this worker, same attempt
        condition = "status = %s AND locked_by = %s AND attempts = %s"
        params = [JobStatus.RUNNING, worker_id, job.attempts]
    sql = (
        f"UPDATE {_qn(Job._meta.db_table)} "  # noqa: S608
        "SET status = %s, attempts = %s, locked_by = %s, finished_at = %s, "
        f"lease_expires_at = NULL WHERE id = %s AND instance_id = %s AND {condition}"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [JobStatus.DONE, job.attempts, worker_id, at, job.pk, job.instance_id, *params],
        )
        return cursor.rowcount == 1


def _steps(activity_events) -> list[dict]:
    return [
        {"kind": e.kind, "activity_id": e.activity_id, "type": e.activity_type}
        for e in activity_events
        if e.kind in ("entered", "completed", "cancelled")
    ]


def _chain_step(handle: core.Instance, job: Job, *, execute) -> _ChainStep:
    """Run one step of a chain ahead of the lock: the connector, then its result into
    ``handle``. Engine errors abort the chain."""
    from apps.common.errors import NotFound as UnknownConnector
    from apps.connectors.base import BusinessError, ConnectorError

    data = {"activity_id": job.activity_id, "connector": job.connector, "attempt": job.attempts}

    def failed(message: str, *, permanent: bool, stack: str = "", kind: str = "job_failed"):
        failure = {"message": message, "permanent": permanent, "stack": stack, "kind": kind}
        return _ChainStep(job, failure=failure)

    try:
        result = (execute or _execute_connector)(job)
    except BusinessError as exc:
        try:
            caught = handle.fail_service_task(
                job.task_id, error_code=exc.error_code, message=exc.message
            )
        except (core.TaskNotFound, core.TaskStateError, core.ExpressionError, core.EngineError):
            raise _ChainAbort from None
        if not caught:
            return failed(
                f"Business error '{exc.error_code}' has no matching error event: {exc.message}",
                permanent=True,
                kind="business_error",
            )
        routed = _business_error_routed(job, error_code=exc.error_code, message=exc.message)
        return _ChainStep(job, action=AuditAction.JOB_FAILED, data={**data, **routed})
    except ConnectorError as exc:
        return failed(exc.message, permanent=exc.permanent)
    except UnknownConnector as exc:
        return failed(exc.message, permanent=True)
    except Exception as exc:
        return failed(
            f"{type(exc).__name__}: {exc}",
            permanent=False,
            stack=traceback.format_exc(limit=20),
        )
    try:
        handle.complete_service_task(job.task_id, result)
    except (core.TaskNotFound, core.TaskStateError, core.ExpressionError, core.EngineError):
        raise _ChainAbort from None
    return _ChainStep(job, action=AuditAction.JOB_SUCCEEDED, data=data)


def _execute_connector(job: Job) -> dict:
    from apps.connectors.base import ExecutionContext
    from apps.connectors.registry import get

    connector = get(job.connector)
    context = ExecutionContext(
        idempotency_key=job.idempotency_key,
        instance_id=job.instance_id,
        activity_id=job.activity_id,
        job_id=job.pk,
        attempt=job.attempts,
    )
    result = connector.execute(dict(job.inputs), context)
    if not isinstance(result, dict):
        raise TypeError(
            f"Connector '{job.connector}' returned {type(result).__name__}, not a JSON object."
        )
    return result


def _job_execute(job: Job, *, worker_id: str, execute=None) -> list[Job]:
    """Run one claimed job; returns the jobs its result created that this worker claimed."""
    from apps.common.errors import NotFound as UnknownConnector
    from apps.connectors.base import BusinessError, ConnectorError

    try:
        result = (execute or _execute_connector)(job)
    except BusinessError as exc:
        return _job_business_error(
            job, worker_id=worker_id, error_code=exc.error_code, message=exc.message
        )
    except ConnectorError as exc:
        _job_failed(
            job, worker_id=worker_id, message=exc.message, permanent=exc.permanent, stack=""
        )
        return []
    except UnknownConnector as exc:
        _job_failed(job, worker_id=worker_id, message=exc.message, permanent=True, stack="")
        return []
    except Exception as exc:
        _job_failed(
            job,
            worker_id=worker_id,
            message=f"{type(exc).__name__}: {exc}",
            permanent=False,
            stack=traceback.format_exc(limit=20),
        )
        return []
    return _job_complete(job, worker_id=worker_id, result=result)


def _lock_job_for_result(job: Job, worker_id: str) -> tuple[ProcessInstance, Job] | None:
    """Lock instance then job; None if our lease was lost (someone else owns the job now)."""
    instance = instance_lock(instance_id=job.instance_id)
    current = Job.objects.select_for_update().get(pk=job.pk)
    if (
        current.status != JobStatus.RUNNING
        or current.locked_by != worker_id
        or current.attempts != job.attempts
    ):
        logger.info(
            "job %s: lease lost (now %s by %s); result discarded",
            job.pk,
            current.status,
            current.locked_by,
        )
        return None
    return instance, current


def _job_complete(job: Job, *, worker_id: str, result: dict) -> list[Job]:
    """Apply a job's result under the instance lock, if the lease is still ours."""
    with transaction.atomic():
        instance = instance_lock(instance_id=job.instance_id)
        # One conditional UPDATE both checks the lease and marks the job done: the sweeper or
        # another worker that took the job over makes it match nothing.
        owned = Job.objects.filter(
            pk=job.pk, status=JobStatus.RUNNING, locked_by=worker_id, attempts=job.attempts
        ).update(status=JobStatus.DONE, finished_at=timezone.now(), lease_expires_at=None)
        if not owned:
            logger.info("job %s: lease lost; result discarded", job.pk)
            return []
        handle = _load(instance)
        try:
            handle.complete_service_task(job.task_id, result)
        except (core.TaskNotFound, core.TaskStateError):
            Job.objects.filter(pk=job.pk).update(status=JobStatus.CANCELLED)
            return []
        except (core.ExpressionError, core.EngineError) as exc:
            transaction.set_rollback(True)
            failed = f"The result could not be applied: {exc}"
        else:
            event = (
                AuditAction.JOB_SUCCEEDED,
                {
                    "job_id": job.pk,
                    "data": {
                        "activity_id": job.activity_id,
                        "connector": job.connector,
                        "attempt": job.attempts,
                    },
                },
            )
            advance = _persist(
                instance, handle, actor=WORKER_ACTOR, claim_for=worker_id, step_event=event
            )
            return advance.claimed_jobs
    _job_failed(job, worker_id=worker_id, message=failed, permanent=True, stack="")
    return []


def _job_business_error(job: Job, *, worker_id: str, error_code: str, message: str) -> list[Job]:
    with transaction.atomic():
        locked = _lock_job_for_result(job, worker_id)
        if locked is None:
            return []
        instance, current = locked
        handle = _load(instance)
        caught = handle.fail_service_task(current.task_id, error_code=error_code, message=message)
        if caught:
            current.status = JobStatus.DONE
            current.finished_at = timezone.now()
            routed = _business_error_routed(current, error_code=error_code, message=message)
            current.save(update_fields=["status", "finished_at", "last_error"])
            record_for_instance(
                AuditAction.JOB_FAILED,
                instance,
                actor=WORKER_ACTOR,
                job_id=current.pk,
                data={"activity_id": current.activity_id, **routed},
            )
            advance = _persist(instance, handle, actor=WORKER_ACTOR, claim_for=worker_id)
            return advance.claimed_jobs
    _job_failed(
        job,
        worker_id=worker_id,
        message=f"Business error '{error_code}' has no matching error event: {message}",
        permanent=True,
        stack="",
        kind="business_error",
    )
    return []


def _business_error_routed(job: Job, *, error_code: str, message: str) -> dict:
    """Note on ``job`` that a business error went to its BPMN handler; the audit data of it."""
    job.last_error = f"business error {error_code}: {message} (routed to its BPMN handler)"
    return {"error_code": error_code, "message": message, "routed": True}


def _open_incident(
    instance: ProcessInstance, job: Job, *, message: str, stack: str, kind: str
) -> Incident:
    incident = Incident.objects.create(
        instance=instance,
        job=job,
        activity_id=job.activity_id,
        kind=kind,
        message=message,
        stack=stack,
    )
    record_for_instance(
        AuditAction.INCIDENT_OPENED,
        instance,
        actor=WORKER_ACTOR,
        job_id=job.pk,
        data={
            "incident_id": incident.pk,
            "activity_id": job.activity_id,
            "kind": kind,
            "message": message,
        },
    )
    return incident


def _job_failed(
    job: Job, *, worker_id: str, message: str, permanent: bool, stack: str, kind: str = "job_failed"
) -> None:
    with transaction.atomic():
        locked = _lock_job_for_result(job, worker_id)
        if locked is None:
            return
        instance, current = locked
        _job_failure_apply(
            instance, current, message=message, permanent=permanent, stack=stack, kind=kind
        )


def _job_failure_apply(
    instance: ProcessInstance,
    current: Job,
    *,
    message: str,
    permanent: bool,
    stack: str,
    kind: str = "job_failed",
) -> None:
    """Record a failed attempt of ``current``: retry later with backoff, or open an incident.
    Requires: the instance row is locked."""
    exhausted = current.attempts >= current.max_attempts
    current.last_error = message[:4000]
    current.lease_expires_at = None
    current.locked_by = ""
    changed = ["status", "last_error", "lease_expires_at", "locked_by", "finished_at"]
    if permanent or exhausted:
        current.status = JobStatus.INCIDENT
        current.finished_at = timezone.now()
    else:
        current.status = JobStatus.PENDING
        current.finished_at = None
        current.run_after = timezone.now() + timedelta(
            seconds=retry_delay_seconds(current.attempts)
        )
        current.enqueued_at = None
        changed += ["run_after", "enqueued_at"]
    current.save(update_fields=changed)
    record_for_instance(
        AuditAction.JOB_FAILED,
        instance,
        actor=WORKER_ACTOR,
        job_id=current.pk,
        data={
            "activity_id": current.activity_id,
            "attempt": current.attempts,
            "message": message[:500],
            "permanent": permanent,
            "will_retry": current.status == JobStatus.PENDING,
        },
    )
    if current.status == JobStatus.INCIDENT:
        if not permanent and kind == "job_failed":
            message = f"Failed {current.attempts} of {current.max_attempts} attempts; last error: {message}"
        _open_incident(instance, current, message=message, stack=stack, kind=kind)


def jobs_sweep(*, limit: int = 500) -> dict[str, int]:
    """Recover work: expired leases (worker died) and due jobs whose Celery message was lost."""
    now = timezone.now()
    lost_after = timedelta(seconds=_settings_int("FLOWGATE_JOB_LOST_AFTER_SECONDS", 30))
    requeued: list[tuple[int, int]] = []
    expired = 0
    with transaction.atomic():
        for job in (
            Job.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                status=JobStatus.RUNNING,
                lease_expires_at__lt=now,
                instance__status=InstanceStatus.RUNNING,
            )
            .order_by("id")[:limit]
        ):
            expired += 1
            if job.attempts >= job.max_attempts:
                job.status = JobStatus.INCIDENT
                job.finished_at = now
                job.last_error = (
                    "The worker running this job stopped (lease expired) on the last attempt."
                )
                job.save(update_fields=["status", "finished_at", "last_error"])
                _open_incident(
                    job.instance, job, message=job.last_error, stack="", kind="worker_lost"
                )
                continue
            job.status = JobStatus.PENDING
            job.locked_by = ""
            job.lease_expires_at = None
            job.enqueued_at = now
            job.last_error = "The worker running this job stopped (lease expired); retrying."
            job.save(
                update_fields=[
                    "status",
                    "locked_by",
                    "lease_expires_at",
                    "enqueued_at",
                    "last_error",
                ]
            )
            requeued.append((job.pk, job.instance_id))
        due = list(
            Job.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                status=JobStatus.PENDING,
                run_after__lte=now,
                instance__status=InstanceStatus.RUNNING,
            )
            .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - lost_after))
            .order_by("run_after")
            .values_list("pk", "instance_id")[:limit]
        )
        if due:
            Job.objects.filter(pk__in=[pk for pk, _ in due]).update(enqueued_at=now)
            requeued.extend(due)
        _enqueue_after_commit(requeued)
    return {"expired_leases": expired, "enqueued": len(requeued)}


def incident_retry(*, incident_id: int, actor: Actor) -> Incident:
    with transaction.atomic():
        incident = Incident.objects.select_related("instance").filter(pk=incident_id).first()
        if incident is None:
            raise NotFound(f"Incident {incident_id} does not exist.")
        instance = instance_lock(instance_id=incident.instance_id)
        incident = Incident.objects.select_for_update().get(pk=incident_id)
        if incident.status != IncidentStatus.OPEN:
            raise Conflict(
                f"Incident {incident_id} is {incident.status}, not open.", code="incident_not_open"
            )
        if incident.job_id is None:
            raise Conflict("This incident has no job to retry.", code="incident_not_retryable")
        job = Job.objects.select_for_update().get(pk=incident.job_id)
        if job.status != JobStatus.INCIDENT:
            raise Conflict(
                f"Job {job.pk} is {job.status}; nothing to retry.", code="incident_not_retryable"
            )
        now = timezone.now()
        job.status = JobStatus.PENDING
        job.attempts = 0
        job.run_after = now
        job.enqueued_at = now
        job.finished_at = None
        job.save(update_fields=["status", "attempts", "run_after", "enqueued_at", "finished_at"])
        incident.status = IncidentStatus.RETRIED
        incident.resolved_at = now
        incident.resolved_by = actor_user(actor)
        incident.save(update_fields=["status", "resolved_at", "resolved_by"])
        record_for_instance(
            AuditAction.INCIDENT_RETRIED,
            instance,
            actor=actor,
            job_id=job.pk,
            data={"incident_id": incident.pk, "activity_id": incident.activity_id},
        )
        if instance.status == InstanceStatus.RUNNING:
            _enqueue_after_commit([(job.pk, instance.pk)])
    return incident


def actor_user(actor: Actor):
    if actor.kind != "user":
        return None
    from apps.accounts.models import User

    return User.objects.filter(pk=actor.id).first()


# --- timers ------------------------------------------------------------------------------------


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
            handle = _load(instance)
            handle.fire_due_timers(max(now, timezone.now()))
            record_for_instance(
                AuditAction.TIMER_FIRED,
                instance,
                actor=SCHEDULER_ACTOR,
                data={"activity_id": timer.activity_id, "due_at": timer.due_at.isoformat()},
            )
            _persist(instance, handle, actor=SCHEDULER_ACTOR)
            fired += 1
    return fired


def start_schedules_create(*, version: ProcessVersion) -> list[StartSchedule]:
    """Replace the timer-start schedules of older versions of the same process with this one's."""
    from apps.engine.schedules import first_due

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
    from apps.engine.schedules import next_due

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


# --- messages ----------------------------------------------------------------------------------


def message_correlate(
    *,
    name: str,
    correlation_key: str = "",
    variables: dict | None = None,
    actor: Actor,
    started_by=None,
) -> list[ProcessInstance]:
    """Deliver a message to every instance waiting for it with this key, or start the processes
    whose message start event has this name. NotFound if nobody is waiting."""
    variables = _check_variables(variables)
    if not name:
        raise InvalidInput("A message needs a name.", code="missing_message_name")
    targets = list(
        MessageSubscription.objects.filter(message_name=name, correlation_key=correlation_key or "")
        .order_by("instance_id")
        .values_list("instance_id", flat=True)
        .distinct()
    )
    delivered: list[ProcessInstance] = []
    for instance_id in targets:
        with transaction.atomic():
            instance = instance_lock(instance_id=instance_id)
            if instance.status != InstanceStatus.RUNNING:
                continue
            handle = _load(instance)
            if not handle.correlate_message(name, dict(variables), correlation_key or None):
                continue
            record_for_instance(
                AuditAction.MESSAGE_CORRELATED,
                instance,
                actor=actor,
                data={"message": name, "correlation_key": correlation_key, "variables": variables},
            )
            _persist(instance, handle, actor=actor)
            delivered.append(instance)
    if delivered:
        return delivered
    versions = _versions_with_message_start(name)
    for version in versions:
        delivered.append(
            instance_start(
                version=version,
                variables=variables,
                business_key=correlation_key,
                actor=actor,
                started_by=started_by,
                message=(name, variables),
            )
        )
    if not delivered:
        raise NotFound(
            f"No instance is waiting for message '{name}'"
            + (f" with correlation key '{correlation_key}'" if correlation_key else "")
            + " and no deployed process starts with it.",
            code="message_not_correlated",
        )
    return delivered


def _versions_with_message_start(name: str) -> list[ProcessVersion]:
    latest: dict[int, ProcessVersion] = {}
    for version in (
        ProcessVersion.objects.filter(status=VersionStatus.DEPLOYED)
        .select_related("definition")
        .order_by("definition_id", "number")
    ):
        latest[version.definition_id] = version
    return [v for v in latest.values() if name in v.metadata.get("message_starts", [])]
