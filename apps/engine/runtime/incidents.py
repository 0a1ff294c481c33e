"""Failed attempts: retry later with backoff and full jitter, or open an incident an operator can
see and retry."""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.audit.actions import AuditAction
from apps.audit.services import record
from apps.common.actors import Actor
from apps.common.errors import Conflict, NotFound, Unprocessable
from apps.engine import core
from apps.engine.models import (
    Incident,
    IncidentStatus,
    InstanceStatus,
    Job,
    JobStatus,
    ProcessInstance,
)
from apps.engine.runtime.hooks import ring_after_commit
from apps.engine.runtime.state import (
    ENGINE_LIMIT_INCIDENT,
    WORKER_ACTOR,
    instance_lock,
    load,
    persist_advance,
)

logger = logging.getLogger(__name__)


def retry_delay_seconds(attempt: int) -> float:
    """Exponential backoff with full jitter: uniform(0, min(cap, base * 2**(attempt-1)))."""
    base = settings.FLOWGATE_JOB_RETRY_BASE_SECONDS
    cap = settings.FLOWGATE_JOB_RETRY_MAX_SECONDS
    return random.uniform(0, min(cap, base * 2 ** max(0, attempt - 1)))  # noqa: S311 - jitter


def lock_job_for_result(job: Job, worker_id: str) -> tuple[ProcessInstance, Job] | None:
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


def business_error_routed(job: Job, *, error_code: str, message: str) -> dict:
    """Note on ``job`` that a business error went to its BPMN handler; the audit data of it."""
    job.last_error = f"business error {error_code}: {message} (routed to its BPMN handler)"
    return {"error_code": error_code, "message": message, "routed": True}


def open_incident(
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
    record(
        AuditAction.INCIDENT_OPENED,
        instance=instance,
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


def job_failed(
    job: Job,
    *,
    worker_id: str,
    message: str,
    permanent: bool,
    stack: str,
    kind: str = "job_failed",
    retry_after: float | None = None,
    spends_attempt: bool = True,
    defer_reason: str = "",
) -> None:
    with transaction.atomic():
        locked = lock_job_for_result(job, worker_id)
        if locked is None:
            return
        instance, current = locked
        job_failure_apply(
            instance,
            current,
            message=message,
            permanent=permanent,
            stack=stack,
            kind=kind,
            retry_after=retry_after,
            spends_attempt=spends_attempt,
            defer_reason=defer_reason,
        )


def next_attempt_delay(attempt: int, retry_after: float | None) -> float:
    """The connector's wish (Retry-After, an open circuit) when it names one, capped by
    FLOWGATE_JOB_RETRY_MAX_SECONDS; otherwise the backoff with jitter."""
    if retry_after is None:
        return retry_delay_seconds(attempt)
    return min(max(0.0, retry_after), settings.FLOWGATE_JOB_RETRY_MAX_SECONDS)


def job_failure_apply(
    instance: ProcessInstance,
    current: Job,
    *,
    message: str,
    permanent: bool,
    stack: str,
    kind: str = "job_failed",
    retry_after: float | None = None,
    spends_attempt: bool = True,
    defer_reason: str = "",
) -> None:
    """Record a failed attempt of ``current``: retry later with backoff, or open an incident.
    A deferred call (``spends_attempt=False``: an open circuit, a target's limit, a 429 with
    Retry-After) is no failure: see ``job_defer_apply``, until the waits the target imposed would
    pass FLOWGATE_JOB_MAX_DEFER_SECONDS: then the step gives up with an incident that says why
    (``deferral_bound_message``). Requires: the instance row is locked."""
    attempt_seconds_add(current)
    changed = ["status", "last_error", "lease_expires_at", "locked_by", "started_at", "finished_at"]
    changed.append("failed_attempts_seconds")
    if not spends_attempt:
        delay = next_attempt_delay(current.attempts - 1, retry_after)
        gave_up = deferral_bound_message(current, reason=defer_reason, delay=delay)
        if not gave_up:
            job_defer_apply(
                instance, current, message=message, retry_after=retry_after, reason=defer_reason
            )
            return
        message, permanent = f"{gave_up} Last answer: {message}", True
    if not spends_attempt:
        current.attempts = max(0, current.attempts - 1)
        changed.append("attempts")
    exhausted = spends_attempt and current.attempts >= current.max_attempts
    current.last_error = message[:4000]
    current.lease_expires_at = None
    current.locked_by = ""
    if permanent or exhausted:
        current.transition_to(JobStatus.INCIDENT)
        current.finished_at = timezone.now()
    else:
        current.transition_to(JobStatus.PENDING)
        current.finished_at = None
        current.run_after = timezone.now() + timedelta(
            seconds=next_attempt_delay(current.attempts, retry_after)
        )
        current.enqueued_at = None
        changed += ["run_after", "enqueued_at"]
    current.save(update_fields=changed)
    record(
        AuditAction.JOB_FAILED,
        instance=instance,
        actor=WORKER_ACTOR,
        job_id=current.pk,
        data={
            "activity_id": current.activity_id,
            "attempt": current.attempts,
            "message": message[:500],
            "permanent": permanent,
            "will_retry": current.status == JobStatus.PENDING,
            "attempt_spent": spends_attempt,
            "retry_at": current.run_after.isoformat()
            if current.status == JobStatus.PENDING
            else None,
        },
    )
    if current.status == JobStatus.INCIDENT:
        if not permanent and kind == "job_failed":
            message = f"Failed {current.attempts} of {current.max_attempts} attempts; last error: {message}"
        open_incident(instance, current, message=message, stack=stack, kind=kind)


#: Waits the target imposes (it throttles, or keeps failing behind an open circuit): bounded per
#: step by FLOWGATE_JOB_MAX_DEFER_SECONDS. A wait for our own concurrency or rate limit
#: ("target_limit") ends when other calls finish, so it is not bounded here.
BOUNDED_DEFER_REASONS = {
    "retry_after": "the target kept answering 429 Too Many Requests with a Retry-After",
    "circuit_open": "the target's circuit stayed open (its calls kept failing)",
}


def deferral_bound_message(current: Job, *, reason: str, delay: float) -> str:
    """Why the step stops waiting, when one more wait of ``delay`` seconds would take its waits
    imposed by the target past FLOWGATE_JOB_MAX_DEFER_SECONDS (0: no bound); "" to wait."""
    bound = settings.FLOWGATE_JOB_MAX_DEFER_SECONDS
    why = BOUNDED_DEFER_REASONS.get(reason)
    if not bound or why is None or current.deferred_seconds + delay <= bound:
        return ""
    return (
        f"Gave up waiting: {why}. The step already waited {current.deferred_seconds:.0f} s over "
        f"{current.deferrals} deferrals and the next wait ({delay:.0f} s) would pass the limit "
        f"of {bound:.0f} s (FLOWGATE_JOB_MAX_DEFER_SECONDS). Retry this incident when the "
        "target accepts calls again (the wait starts over), or ask its owner for more quota."
    )


def attempt_seconds_add(current: Job) -> None:
    """Add the attempt that ends here without finishing the step (started -> now) to the job's
    ``failed_attempts_seconds``; the caller saves the field."""
    if current.started_at is not None:
        elapsed = (timezone.now() - current.started_at).total_seconds()
        current.failed_attempts_seconds += max(0.0, elapsed)


def lost_attempt_seconds_add(job: Job, *, now: datetime) -> bool:
    """Time an attempt whose worker stopped (its lease expired while running) from its start to
    the lease's expiry (or ``now`` if earlier): the worker held the step that long, and when it
    stopped in between is unknown. Added to ``lost_attempts_seconds``, which the caller saves;
    False (nothing added) when the job was not in such an attempt."""
    if job.status != JobStatus.RUNNING or job.started_at is None or job.lease_expires_at is None:
        return False
    held = (min(job.lease_expires_at, now) - job.started_at).total_seconds()
    job.lost_attempts_seconds += max(0.0, held)
    return True


def job_defer_apply(
    instance: ProcessInstance,
    current: Job,
    *,
    message: str,
    retry_after: float | None,
    reason: str,
) -> None:
    """The step waits and calls again at the time the connector named: its attempt is given
    back, its ``deferrals`` count grows (and ``deferred_seconds`` by a wait the target imposed),
    no incident opens (``job_failure_apply`` checks the bound on imposed waits before), and the
    audit event is ``job.deferred`` (decision 039: waits are not failures). Requires: the
    instance row is locked."""
    current.attempts = max(0, current.attempts - 1)
    current.deferrals += 1
    current.last_error = message[:4000]
    current.lease_expires_at = None
    current.locked_by = ""
    current.transition_to(JobStatus.PENDING)
    current.finished_at = None
    delay = next_attempt_delay(current.attempts, retry_after)
    current.run_after = timezone.now() + timedelta(seconds=delay)
    if reason in BOUNDED_DEFER_REASONS:
        current.deferred_seconds += delay
    current.enqueued_at = None
    current.save(
        update_fields=[
            "deferred_seconds",
            "status",
            "last_error",
            "lease_expires_at",
            "locked_by",
            "started_at",
            "finished_at",
            "attempts",
            "deferrals",
            "failed_attempts_seconds",
            "run_after",
            "enqueued_at",
        ]
    )
    record(
        AuditAction.JOB_DEFERRED,
        instance=instance,
        actor=WORKER_ACTOR,
        job_id=current.pk,
        data={
            "activity_id": current.activity_id,
            "connector": current.connector,
            "reason": reason or "deferred",
            "message": message[:500],
            "retry_at": current.run_after.isoformat(),
            "deferrals": current.deferrals,
        },
    )


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
        if incident.job_id is None and incident.kind == ENGINE_LIMIT_INCIDENT:
            return _engine_limit_retry(instance, incident, actor=actor)
        if incident.job_id is None:
            raise Conflict("This incident has no job to retry.", code="incident_not_retryable")
        job = Job.objects.select_for_update().get(pk=incident.job_id)
        if job.status != JobStatus.INCIDENT:
            raise Conflict(
                f"Job {job.pk} is {job.status}; nothing to retry.", code="incident_not_retryable"
            )
        now = timezone.now()
        job.transition_to(JobStatus.PENDING)
        job.attempts = 0
        job.deferred_seconds = 0.0  # a retried step may wait on its target for as long again
        job.run_after = now
        job.enqueued_at = now
        job.finished_at = None
        job.save(
            update_fields=[
                "status",
                "attempts",
                "deferred_seconds",
                "run_after",
                "enqueued_at",
                "finished_at",
            ]
        )
        incident.transition_to(IncidentStatus.RETRIED)
        incident.resolved_at = now
        incident.resolved_by = actor_user(actor)
        incident.save(update_fields=["status", "resolved_at", "resolved_by"])
        record(
            AuditAction.INCIDENT_RETRIED,
            instance=instance,
            actor=actor,
            job_id=job.pk,
            data={"incident_id": incident.pk, "activity_id": incident.activity_id},
        )
        if instance.status == InstanceStatus.RUNNING:
            ring_after_commit([(job.pk, instance.pk)])
    return incident


def _engine_limit_retry(instance: ProcessInstance, incident: Incident, *, actor: Actor) -> Incident:
    """Run the steps a limit stopped, with a fresh budget; a new incident opens if a limit stops
    them again. Requires: instance and incident rows locked."""
    if instance.status != InstanceStatus.RUNNING:
        raise Conflict(
            f"Instance {instance.pk} is {instance.status}; only a running instance can go on.",
            code="instance_not_running",
        )
    now = timezone.now()
    incident.transition_to(IncidentStatus.RETRIED)
    incident.resolved_at = now
    incident.resolved_by = actor_user(actor)
    incident.save(update_fields=["status", "resolved_at", "resolved_by"])
    handle = load(instance)
    try:
        handle.resume()
    except (core.ExpressionError, core.WorkflowRuntimeError) as exc:
        raise Unprocessable(
            f"The process could not continue: {exc}", code="process_stuck"
        ) from None
    persist_advance(
        instance,
        handle,
        actor=actor,
        event=(
            AuditAction.INCIDENT_RETRIED,
            {"data": {"incident_id": incident.pk, "activity_id": incident.activity_id}},
        ),
    )
    return incident


def actor_user(actor: Actor):
    if actor.kind != "user":
        return None

    return User.objects.filter(pk=actor.id).first()
