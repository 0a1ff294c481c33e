"""Jobs on the lease path: claim a due job, run its connector outside any lock, apply the
result under the instance lock if the lease is still ours; the sweeper takes back expired leases
and rings again for jobs whose message was lost."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.audit.actions import AuditAction
from apps.audit.services import record
from apps.common import tracing
from apps.connectors.base import ExecutionContext
from apps.connectors.registry import get as connector_get
from apps.engine import core
from apps.engine.core.business_rules import POLICY_DENIED
from apps.engine.models import JOB_TRANSITIONS, InstanceOutcome, InstanceStatus, Job, JobStatus
from apps.engine.runtime.failures import classify_connector_error, unmatched_business_error
from apps.engine.runtime.hooks import job_stub, ring_after_commit
from apps.engine.runtime.incidents import (
    business_error_routed,
    job_failed,
    lock_job_for_result,
    lost_attempt_seconds_add,
    open_incident,
)
from apps.engine.runtime.instances import instance_cancel
from apps.engine.runtime.projections import job_lease
from apps.engine.runtime.state import (
    WORKER_ACTOR,
    instance_lock,
    load,
    persist_job_result,
)

logger = logging.getLogger(__name__)

#: (audit action, data) pairs a connector left for its step (ExecutionContext.audit_events)
ConnectorEvents = Sequence[tuple[AuditAction, dict[str, Any]]]


def job_claim(*, job_id: int, worker_id: str) -> Job | None:
    """Take a lease on a job that is due (or whose previous lease expired). None if not claimable."""
    now = timezone.now()
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
        fields = ["status", "attempts", "locked_by", "lease_expires_at", "started_at"]
        if lost_attempt_seconds_add(job, now=now):  # reclaimed from a worker that stopped
            fields.append("lost_attempts_seconds")
        job.transition_to(JobStatus.RUNNING)
        job.attempts += 1
        job.locked_by = worker_id
        job.lease_expires_at = now + job_lease(job.inputs)
        job.started_at = now
        job.save(update_fields=fields)
    return job


def job_context(job: Job) -> ExecutionContext:
    return ExecutionContext(
        idempotency_key=job.idempotency_key,
        instance_id=job.instance_id,
        activity_id=job.activity_id,
        job_id=job.pk,
        attempt=job.attempts,
    )


def execute_connector(job: Job, context: ExecutionContext | None = None) -> dict:
    """Run the job's connector. ``context`` collects the audit events the connector leaves
    (``audit_events``); the caller writes them with the step's result."""
    stub = job_stub.first(job)  # a designer test run's stubbed step: no connector call
    if stub is not None:
        return dict(stub)

    connector = connector_get(job.connector)
    result = connector.execute(dict(job.inputs), context or job_context(job))
    if not isinstance(result, dict):
        raise TypeError(
            f"Connector '{job.connector}' returned {type(result).__name__}, not a JSON object."
        )
    return result


def job_execute(job: Job, *, worker_id: str, execute=None) -> list[Job]:
    """Run one claimed job; returns the jobs its result created that this worker claimed.
    The step is a span of the instance's trace (its parent is carried on the job row)."""
    with tracing.step_span(
        f"flowgate.step {job.activity_id}",
        job.traceparent,
        attributes={
            "flowgate.instance_id": job.instance_id,
            "flowgate.job_id": job.pk,
            "flowgate.activity_id": job.activity_id,
            "flowgate.connector": job.connector,
            "flowgate.attempt": job.attempts,
        },
    ):
        return _job_execute(job, worker_id=worker_id, execute=execute)


def _job_execute(job: Job, *, worker_id: str, execute=None) -> list[Job]:
    context = job_context(job)
    try:
        result = execute(job) if execute is not None else execute_connector(job, context)
    except Exception as exc:
        failure = classify_connector_error(exc)
        if failure.error_code is not None:  # a business error: a BPMN error event may catch it
            return job_business_error(
                job,
                worker_id=worker_id,
                error_code=failure.error_code,
                message=failure.message,
                audit_events=context.audit_events,
            )
        # A failed step leaves no connector events: its work was not applied.
        job_failed(
            job,
            worker_id=worker_id,
            message=failure.message,
            permanent=failure.permanent,
            stack=failure.stack,
            **failure.apply_arguments(),
        )
        return []
    return job_complete(job, worker_id=worker_id, result=result, audit_events=context.audit_events)


def connector_events_record(instance, job: Job, events: ConnectorEvents) -> None:
    """Write the audit events a connector left (``ExecutionContext.audit_events``) in the
    caller's transaction, the one that applies the step. Requires: the instance row locked."""
    assert transaction.get_connection().in_atomic_block, "the step's transaction"  # noqa: S101
    for action, data in events:
        record(action, instance=instance, actor=WORKER_ACTOR, job_id=job.pk, data=data)


def job_complete(
    job: Job, *, worker_id: str, result: dict, audit_events: ConnectorEvents = ()
) -> list[Job]:
    """Apply a job's result under the instance lock, if the lease is still ours; the
    connector's ``audit_events`` are written with it (or not at all)."""
    with transaction.atomic():
        instance = instance_lock(instance_id=job.instance_id)
        # One conditional UPDATE both checks the lease and marks the job done: the sweeper or
        # another worker that took the job over makes it match nothing.
        owned = JOB_TRANSITIONS.update(
            Job.objects.filter(
                pk=job.pk, status=JobStatus.RUNNING, locked_by=worker_id, attempts=job.attempts
            ),
            JobStatus.DONE,
            finished_at=timezone.now(),
            lease_expires_at=None,
        )
        if not owned:
            logger.info("job %s: lease lost; result discarded", job.pk)
            return []
        handle = load(instance)
        try:
            handle.complete_service_task(job.task_id, result)
        except (core.TaskNotFound, core.TaskStateError):
            JOB_TRANSITIONS.update(Job.objects.filter(pk=job.pk), JobStatus.CANCELLED)
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
            connector_events_record(instance, job, audit_events)
            return persist_job_result(instance, handle, worker_id=worker_id, event=event)
    job_failed(job, worker_id=worker_id, message=failed, permanent=True, stack="")
    return []


def job_business_error(
    job: Job,
    *,
    worker_id: str,
    error_code: str,
    message: str,
    audit_events: ConnectorEvents = (),
) -> list[Job]:
    with transaction.atomic():
        locked = lock_job_for_result(job, worker_id)
        if locked is None:
            return []
        instance, current = locked
        handle = load(instance)
        caught = handle.fail_service_task(current.task_id, error_code=error_code, message=message)
        if caught:
            current.transition_to(JobStatus.DONE)
            current.finished_at = timezone.now()
            routed = business_error_routed(current, error_code=error_code, message=message)
            current.save(update_fields=["status", "finished_at", "last_error"])
            connector_events_record(instance, current, audit_events)
            record(
                AuditAction.JOB_FAILED,
                instance=instance,
                actor=WORKER_ACTOR,
                job_id=current.pk,
                data={"activity_id": current.activity_id, **routed},
            )
            return persist_job_result(instance, handle, worker_id=worker_id)
        if error_code == POLICY_DENIED:
            connector_events_record(instance, current, audit_events)
            policy_denied_end(instance, current, message)
            return []
    job_failed(
        job,
        worker_id=worker_id,
        message=unmatched_business_error(error_code, message),
        permanent=True,
        stack="",
        kind="business_error",
    )
    return []


def policy_denied_end(instance, job: Job, reason: str) -> None:
    """A policy gate's denial that no error event caught: the request ends **rejected by
    policy** (outcome ``rejected_by_policy``, the reason kept), in the transaction that applies
    the step; no incident, as nothing is broken. docs/dmn.md#policy-gates, decision 036.
    Requires: the instance and job rows locked (``lock_job_for_result``)."""
    job.transition_to(JobStatus.DONE)
    job.finished_at = timezone.now()
    job.last_error = f"business error {POLICY_DENIED}: {reason} (uncaught: rejected by policy)"
    job.save(update_fields=["status", "finished_at", "last_error"])
    record(
        AuditAction.JOB_FAILED,
        instance=instance,
        actor=WORKER_ACTOR,
        job_id=job.pk,
        data={
            "activity_id": job.activity_id,
            "error_code": POLICY_DENIED,
            "message": reason,
            "routed": False,
        },
    )
    instance_cancel(
        instance_id=instance.pk,
        actor=WORKER_ACTOR,
        reason=f"Rejected by policy: {reason}",
        outcome=InstanceOutcome.REJECTED_BY_POLICY,
        outcome_reason=reason,
    )


def jobs_sweep(*, limit: int = 500) -> dict[str, int]:
    """Recover work: expired leases (worker died) and due jobs whose Celery message was lost."""
    now = timezone.now()
    lost_after = timedelta(seconds=settings.FLOWGATE_JOB_LOST_AFTER_SECONDS)
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
            lost_attempt_seconds_add(job, now=now)
            if job.attempts >= job.max_attempts:
                job.transition_to(JobStatus.INCIDENT)
                job.finished_at = now
                job.last_error = (
                    "The worker running this job stopped (lease expired) on the last attempt."
                )
                job.save(
                    update_fields=["status", "finished_at", "last_error", "lost_attempts_seconds"]
                )
                open_incident(
                    job.instance, job, message=job.last_error, stack="", kind="worker_lost"
                )
                continue
            job.transition_to(JobStatus.PENDING)
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
                    "lost_attempts_seconds",
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
        ring_after_commit(requeued)
    return {"expired_leases": expired, "enqueued": len(requeued)}
