"""Instance lifecycle: start, complete a user task, cancel, suspend, resume."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from apps.accounts import permissions
from apps.accounts.roles import PERM_VIEW_INSTANCE
from apps.audit.actions import AuditAction
from apps.audit.services import audit_event, record
from apps.common import tracing
from apps.common.actors import Actor
from apps.common.errors import AccessDenied, Conflict, InvalidInput, NotFound, Unprocessable
from apps.engine import core
from apps.engine.models import (
    INCIDENT_TRANSITIONS,
    JOB_TRANSITIONS,
    IncidentStatus,
    InstanceOutcome,
    InstanceStatus,
    Job,
    JobStatus,
    ProcessInstance,
)
from apps.engine.runners import runner_for
from apps.engine.runtime.hooks import ring_after_commit, user_tasks_changed
from apps.engine.runtime.state import (
    SCHEDULER_ACTOR,
    check_variables,
    instance_lock,
    load,
    persist_advance,
    persist_start,
)
from apps.processes.models import ProcessVersion, VersionStatus
from apps.processes.start_rules import StartRestrictions, start_restriction


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


def version_latest_deployed(*, process_key: str) -> ProcessVersion:
    version = (
        ProcessVersion.objects.filter(definition__key=process_key, status=VersionStatus.DEPLOYED)
        .order_by("-number")
        .first()
    )
    if version is None:
        raise NotFound(f"No deployed version of process '{process_key}'.", code="process_not_found")
    return version


def start_allowed_check(
    *, version: ProcessVersion, actor: Actor, started_by=None, authorized_by=None
) -> None:
    """Refuse (403, nothing created) a start the model does not allow: every entry point —
    the API (by key or version id), the request catalog, messages, webhooks, timers, the
    designer's test run — comes through ``instance_start``, which calls this first.

    The restriction is the started version's ``candidateStarterGroups``/``candidateStarterUsers``
    and, when an older version is started by id, also its process's latest deployed version's
    (today's policy). Who counts: the person starting it (``started_by``), else the person a
    system entry point acts for (``authorized_by``: a webhook's creator). With neither, only the
    scheduler firing the model's own timer start event may start a restricted process.
    """
    restrictions = [start_restriction(version)]
    # Only the latest's id (an index scan): its row, XML and spec are read only when an older
    # version is started — loading them on every start cost a quarter of a start.
    latest_pk = (
        ProcessVersion.objects.filter(
            definition_id=version.definition_id, status=VersionStatus.DEPLOYED
        )
        .order_by("-number")
        .values_list("pk", flat=True)
        .first()
    )
    if latest_pk is not None and latest_pk != version.pk:
        restrictions.append(
            start_restriction(ProcessVersion.objects.select_related("definition").get(pk=latest_pk))
        )
    rule = StartRestrictions(tuple(restrictions))
    if not rule.restricted:
        return
    person = started_by if started_by is not None else authorized_by
    key = version.definition.key
    if person is None:
        if actor == SCHEDULER_ACTOR:
            return  # a timer start event: part of the model its deployer put in force
        raise AccessDenied(
            f"Process '{key}' may only be started by {rule.describe()}; this start names no "
            "person who may.",
            code="start_not_allowed",
        )
    if not (person.is_active and rule.allows(username=person.username, roles=person.role_names())):
        raise AccessDenied(
            f"Process '{key}' may only be started by {rule.describe()}; "
            f"{person.username} may not start it.",
            code="start_not_allowed",
        )


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
    test_run: bool = False,
    authorized_by=None,
) -> ProcessInstance:
    """Start an instance of ``version`` (or the latest deployed version of ``process_key``),
    if the model lets ``started_by`` (or ``authorized_by``, see ``start_allowed_check``) start
    it: 403 ``start_not_allowed`` otherwise, and nothing is created. ``test_run``: a designer's
    test run, which every reader outside the test panel leaves out."""
    variables = check_variables(variables)
    if version is None:
        if not process_key:
            raise InvalidInput("Give a process key or a version.", code="missing_process")
        version = version_latest_deployed(process_key=process_key)
    elif version.status != VersionStatus.DEPLOYED:
        raise Conflict(
            f"Version {version.pk} is a draft and cannot be started.", code="version_not_deployed"
        )
    start_allowed_check(
        version=version, actor=actor, started_by=started_by, authorized_by=authorized_by
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
            is_test_run=test_run,
            started_by=started_by,
            called_versions=called,
            traceparent=tracing.instance_traceparent(),
        )
        instance.trace_id = tracing.trace_id_of(instance.traceparent)

        def started(created: ProcessInstance):
            return audit_event(
                AuditAction.INSTANCE_STARTED,
                instance=created,
                actor=actor,
                after={"business_key": business_key, "variables": variables},
            )

        persist_start(instance, handle, actor=actor, started=started)
        if started_by is not None:
            permissions.grant(PERM_VIEW_INSTANCE, obj=instance, user=started_by)
    return instance


def _require_running(instance: ProcessInstance) -> None:
    if instance.status != InstanceStatus.RUNNING:
        raise Conflict(
            f"Instance {instance.pk} is {instance.status}; only running instances can advance.",
            code="instance_not_running",
        )


def user_task_complete(
    *,
    instance: ProcessInstance,
    task_id: str,
    data: dict,
    actor: Actor,
    audit_as: tuple[AuditAction, dict] | None = None,
) -> ProcessInstance:
    """Complete a waiting user task. Requires: ``instance`` locked by the caller (instance_lock).

    ``audit_as`` = (action, event fields): the caller's event for the completion (the inbox's
    "task approved", say), which then also carries the engine's steps: one event, not two.
    """
    _require_running(instance)
    data = check_variables(data)
    handle = load(instance)
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
    persist_advance(instance, handle, actor=actor, event=audit_as)
    return instance


def instance_cancel(
    *,
    instance_id: int,
    actor: Actor,
    reason: str = "",
    outcome: InstanceOutcome = InstanceOutcome.NONE,
    outcome_reason: str = "",
) -> ProcessInstance:
    """Cancel a running or suspended instance. ``outcome`` says how it ended when "cancelled"
    does not (a policy gate's denial: ``rejected_by_policy``, with ``outcome_reason``)."""
    with transaction.atomic():
        instance = instance_lock(instance_id=instance_id)
        before = instance.status
        instance.transition_to(InstanceStatus.CANCELLED)
        handle = load(instance)
        handle.cancel()
        now = timezone.now()
        instance.state = handle.dump()
        instance.ended_at = now
        instance.outcome, instance.outcome_reason = outcome, outcome_reason[:500]
        instance.save(
            update_fields=["status", "state", "ended_at", "outcome", "outcome_reason", "updated_at"]
        )
        jobs = list(
            instance.jobs.filter(
                status__in=[JobStatus.PENDING, JobStatus.RUNNING, JobStatus.INCIDENT]
            )
        )
        JOB_TRANSITIONS.update(
            Job.objects.filter(pk__in=[j.pk for j in jobs]), JobStatus.CANCELLED, finished_at=now
        )
        INCIDENT_TRANSITIONS.update(
            instance.incidents.filter(status=IncidentStatus.OPEN),
            IncidentStatus.RESOLVED,
            resolved_at=now,
        )
        instance.timers.filter(fired_at__isnull=True).update(cancelled=True)
        instance.subscriptions.all().delete()
        user_tasks_changed.send(instance=instance, user_tasks=[], now=now, actor=actor)
        record(
            AuditAction.INSTANCE_CANCELLED,
            instance=instance,
            actor=actor,
            before={"status": before},
            after={"status": instance.status, **({"outcome": outcome} if outcome else {})},
            data={"reason": reason} if reason else None,
        )
    return instance


def _instance_pause_or_resume(
    instance_id: int, to: InstanceStatus, action: AuditAction, *, actor: Actor
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
            ring_after_commit((pk, instance.pk) for pk in pending)
        record(
            action, instance=instance, actor=actor, before={"status": before}, after={"status": to}
        )
    return instance


def instance_suspend(*, instance_id: int, actor: Actor) -> ProcessInstance:
    suspended = (InstanceStatus.SUSPENDED, AuditAction.INSTANCE_SUSPENDED)
    return _instance_pause_or_resume(instance_id, *suspended, actor=actor)


def instance_resume(*, instance_id: int, actor: Actor) -> ProcessInstance:
    running = (InstanceStatus.RUNNING, AuditAction.INSTANCE_RESUMED)
    return _instance_pause_or_resume(instance_id, *running, actor=actor)
