"""What a worker does when the doorbell rings for a job (``job_run``): run it and what follows it
in the same instance without a broker hop — by a job chain when the step is chainable, else on
the lease path (``runtime.jobs``). Until issue 20 ``job_run`` had a module of its own
(``runtime.worker``).

Job chains (the worker's continuation; not the audit hash chain): a worker runs a chainable job
and every chainable step it leads to ahead of the lock, then applies them all in one transaction
if nobody advanced the instance meanwhile (optimistic, as Camunda's engine is). Why and how it
was measured: docs/decisions/010."""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.audit.actions import AuditAction
from apps.audit.services import audit_event, record_many
from apps.common import tracing
from apps.common.context import bound
from apps.common.db import insert_rows, update_row
from apps.connectors.registry import chainable_names
from apps.engine import core
from apps.engine.models import JOB_TRANSITIONS, InstanceStatus, Job, JobStatus, ProcessInstance
from apps.engine.runtime.failures import classify_connector_error, unmatched_business_error
from apps.engine.runtime.hooks import ring_after_commit
from apps.engine.runtime.incidents import business_error_routed, job_failure_apply
from apps.engine.runtime.jobs import execute_connector, job_claim, job_execute
from apps.engine.runtime.projections import new_job
from apps.engine.runtime.state import (
    WORKER_ACTOR,
    activity_steps,
    instance_select,
    load,
    persist_chain,
    qn,
)


def job_run(*, job_id: int, worker_id: str, execute=None, instance_id: int | None = None) -> int:
    """Run a job and what follows it in the same instance, without a broker hop between steps.

    A job whose connector is chainable runs together with every chainable step it leads to,
    their results applied in one transaction (``job_chain``). Any other job is claimed with a lease,
    run outside the lock, and its result applied afterwards (``job_execute``). Successors this
    worker claimed are run the same way, up to FLOWGATE_INLINE_CHAIN_LIMIT jobs. Returns the
    number of jobs executed.
    """
    limit = settings.FLOWGATE_INLINE_CHAIN_LIMIT
    executed = 0
    queue: deque[Job] = deque()
    if instance_id is None:
        instance_id = Job.objects.filter(pk=job_id).values_list("instance_id", flat=True).first()
        if instance_id is None:
            return 0
    with bound(instance_id=instance_id):
        chained = job_chain(job_id, instance_id, worker_id=worker_id, execute=execute, limit=limit)
    if chained is not None:
        executed, claimed = chained
        queue.extend(claimed)
    else:
        first = job_claim(job_id=job_id, worker_id=worker_id)
        queue.extend([first] if first is not None else [])
    while queue and executed < limit:
        job = queue.popleft()
        with bound(instance_id=job.instance_id):
            chained = job_chain(
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
            queue.extend(job_execute(job, worker_id=worker_id, execute=execute))
        executed += 1
    if queue:  # chain limit reached: hand the rest to the broker
        with transaction.atomic():
            for job in queue:
                JOB_TRANSITIONS.update(
                    Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING, locked_by=worker_id),
                    JobStatus.PENDING,
                    attempts=job.attempts - 1,
                    lease_expires_at=None,
                    enqueued_at=timezone.now(),
                )
            ring_after_commit([(job.pk, job.instance_id) for job in queue])
    return executed


class _ChainAbort(Exception):
    """The engine could not apply a result ahead of the lock: redo the job step by step."""


@dataclass
class _ChainStep:
    """One step run ahead: its job (the first one's row, or an unsaved row), and its outcome."""

    job: Job
    action: AuditAction | None = None  # JOB_SUCCEEDED, or JOB_FAILED for a routed business error
    data: dict | None = None
    failure: dict | None = None  # job_failure_apply's arguments when the attempt failed


@cache
def _peek_sql(vendor: str) -> str:
    """The instance row (unlocked) with its job's claim state: 1 = due for anyone, 2 = leased
    by the given worker, 0 = neither. For running a chain ahead of the lock."""
    j = {name: f"j.{qn(name)}" for name in ("status", "run_after", "lease_expires_at")}
    extra = (
        f", j.{qn('task_id')} AS job_task_id, j.{qn('activity_id')} AS job_activity_id, "
        f"j.{qn('connector')} AS job_connector, j.{qn('inputs')} AS job_inputs, "
        f"j.{qn('attempts')} AS job_attempts, j.{qn('max_attempts')} AS job_max_attempts, "
        f"CASE WHEN ({j['status']} = %s AND {j['run_after']} <= %s) "
        f"OR ({j['status']} = %s AND {j['lease_expires_at']} < %s) THEN 1 "
        f"WHEN {j['status']} = %s AND j.{qn('locked_by')} = %s THEN 2 ELSE 0 END AS job_claim"
    )
    return (
        instance_select(extra)
        + f"INNER JOIN {qn(Job._meta.db_table)} j ON j.{qn('instance_id')} = i.{qn('id')} "
        f"WHERE j.{qn('id')} = %s AND i.{qn('id')} = %s"
    )


def job_chain(
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
        status=JobStatus.RUNNING,  # this attempt; done or failed once its step has run
        attempts=snapshot.job_attempts + (0 if owned is not None else 1),
        max_attempts=snapshot.job_max_attempts,
        locked_by=worker_id,
    )
    first._state.adding = False
    first.instance = snapshot  # read already: hooks that look at it (job stubs) cost no query
    handle = load(snapshot)
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
        job.started_at = timezone.now()  # each step carries its own instants
        with tracing.step_span(
            f"flowgate.step {job.activity_id}",
            snapshot.traceparent,
            attributes={
                "flowgate.instance_id": instance_id,
                "flowgate.activity_id": job.activity_id,
                "flowgate.connector": job.connector,
                "flowgate.attempt": job.attempts,
                "flowgate.chained": True,
            },
        ):
            step = _chain_step(handle, job, execute=execute)
        job.finished_at = timezone.now()
        steps.append(step)
        if step.failure is not None or step.data is None:  # the row will say retry or incident
            active.add(job.task_id)
            continue
        step.data["steps"] = activity_steps(handle.events[seen:])
        room = limit - len(steps) - len(queue)
        if room <= 0:
            continue
        for info in handle.service_tasks():
            if room <= 0:
                break
            if info.connector in names and info.task_id not in active | queued:
                queued.add(info.task_id)
                room -= 1
                chained = new_job(
                    instance_id,
                    info,
                    now=now_dt,
                    status=JobStatus.RUNNING,
                    attempts=1,
                    locked_by=worker_id,
                    finished_at=now_dt,
                    traceparent=snapshot.traceparent,
                )
                chained.instance = snapshot
                queue.append(chained)
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
    table = qn(ProcessInstance._meta.db_table)
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
                job_failure_apply(snapshot, step.job, **step.failure)
                continue
            action = step.action or AuditAction.JOB_SUCCEEDED
            if action == AuditAction.JOB_FAILED:  # a business error, routed
                update_row(step.job, ["last_error"])
            events.append(
                audit_event(
                    action,
                    instance=snapshot,
                    actor=WORKER_ACTOR,
                    job_id=step.job.pk,
                    data=step.data,
                )
            )
        claimed = persist_chain(
            snapshot, handle, worker_id=worker_id, job_events=events, active_jobs=active
        )
    return len(steps), claimed


def _claim(job: Job, *, worker_id: str, owned: Job | None) -> bool:
    """Write the first job of a chain as its step left it (done; running when the attempt failed,
    for job_failure_apply to move on), if it is still as it was read (one UPDATE)."""
    now = timezone.now()
    job.finished_at = job.finished_at or now
    at = connection.ops.adapt_datetimefield_value(now)
    started = connection.ops.adapt_datetimefield_value(job.started_at or now)
    finished = connection.ops.adapt_datetimefield_value(job.finished_at)
    if owned is None:  # due (or its lease expired), and not attempted since we read it
        condition = (
            "((status = %s AND run_after <= %s) OR (status = %s AND lease_expires_at < %s)) "
            "AND attempts = %s"
        )
        params = [JobStatus.PENDING, at, JobStatus.RUNNING, at, job.attempts - 1]
        JOB_TRANSITIONS.require([JobStatus.PENDING, JobStatus.RUNNING], job.status)
    else:  # still leased by this worker, same attempt
        condition = "status = %s AND locked_by = %s AND attempts = %s"
        params = [JobStatus.RUNNING, worker_id, job.attempts]
        JOB_TRANSITIONS.require([JobStatus.RUNNING], job.status)
    sql = (
        f"UPDATE {qn(Job._meta.db_table)} "  # noqa: S608
        "SET status = %s, attempts = %s, locked_by = %s, started_at = %s, finished_at = %s, "
        f"lease_expires_at = NULL WHERE id = %s AND instance_id = %s AND {condition}"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [
                job.status,  # done, or running when its attempt failed (job_failure_apply follows)
                job.attempts,
                worker_id,
                started,
                finished,
                job.pk,
                job.instance_id,
                *params,
            ],
        )
        return cursor.rowcount == 1


def _chain_step(handle: core.Instance, job: Job, *, execute) -> _ChainStep:
    """Run one step of a chain ahead of the lock: the connector, then its result into
    ``handle``. Engine errors abort the chain."""

    data = {"activity_id": job.activity_id, "connector": job.connector, "attempt": job.attempts}

    def failed(
        message: str, *, permanent: bool, stack: str = "", kind: str = "job_failed", **wait: Any
    ):
        # ``wait``: retry_after / spends_attempt / defer_reason, as the connector asked
        failure = {"message": message, "permanent": permanent, "stack": stack, "kind": kind, **wait}
        return _ChainStep(job, failure=failure)

    try:
        result = (execute or execute_connector)(job)
    except Exception as exc:
        failure = classify_connector_error(exc)
        if failure.error_code is None:
            return failed(
                failure.message,
                permanent=failure.permanent,
                stack=failure.stack,
                **failure.apply_arguments(),
            )
        try:
            caught = handle.fail_service_task(
                job.task_id, error_code=failure.error_code, message=failure.message
            )
        except (core.TaskNotFound, core.TaskStateError, core.ExpressionError, core.EngineError):
            raise _ChainAbort from None
        if not caught:
            return failed(
                unmatched_business_error(failure.error_code, failure.message),
                permanent=True,
                kind="business_error",
            )
        routed = business_error_routed(job, error_code=failure.error_code, message=failure.message)
        job.transition_to(JobStatus.DONE)
        return _ChainStep(job, action=AuditAction.JOB_FAILED, data={**data, **routed})
    try:
        handle.complete_service_task(job.task_id, result)
    except (core.TaskNotFound, core.TaskStateError, core.ExpressionError, core.EngineError):
        raise _ChainAbort from None
    job.transition_to(JobStatus.DONE)
    return _ChainStep(job, action=AuditAction.JOB_SUCCEEDED, data=data)
