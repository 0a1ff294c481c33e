from __future__ import annotations

from django.db.models import Count, QuerySet

from apps.accounts import permissions
from apps.accounts.roles import PERM_OPERATE_INSTANCE, PERM_VIEW_INSTANCE, Role
from apps.common.errors import NotFound
from apps.engine.models import (
    Incident,
    IncidentStatus,
    InstanceStatus,
    Job,
    JobStatus,
    MessageSubscription,
    MigrationRun,
    ProcessInstance,
    Timer,
)
from apps.engine.runtime.state import WAIT_TASKS, load

OVERSEERS = (Role.ADMIN, Role.MANAGER, Role.AUDITOR)


def instances_visible(*, user) -> QuerySet[ProcessInstance]:
    qs = ProcessInstance.objects.select_related("version", "started_by").defer("state")
    if permissions.has_role(user, *OVERSEERS):
        return qs
    return permissions.filter_visible(user, PERM_VIEW_INSTANCE, qs)


def instance_list(
    *, user, status: str = "", process_key: str = "", business_key: str = "", outcome: str = ""
) -> QuerySet[ProcessInstance]:
    qs = instances_visible(user=user)
    if status:
        qs = qs.filter(status=status)
    if outcome:
        qs = qs.filter(outcome=outcome)
    if process_key:
        qs = qs.filter(process_key=process_key)
    if business_key:
        qs = qs.filter(business_key=business_key)
    return qs.order_by("-id")


def instance_get(*, user, instance_id: int) -> ProcessInstance:
    instance = instances_visible(user=user).filter(pk=instance_id).first()
    if instance is None:
        raise NotFound(
            f"Process instance {instance_id} does not exist or is not visible to you.",
            code="instance_not_found",
        )
    return instance


def can_operate(*, user, instance: ProcessInstance) -> bool:
    if permissions.has_role(user, Role.ADMIN, Role.MANAGER):
        return True
    return permissions.can(user, PERM_OPERATE_INSTANCE, instance)


def instance_waiting_user_tasks(*, instance: ProcessInstance) -> list[dict]:
    """The user tasks the engine waits on, from its own state (the inbox's HumanTask rows add
    who holds them)."""
    if not instance.waits & WAIT_TASKS:
        return []
    return [
        {
            "task_id": info.task_id,
            "activity_id": info.activity_id,
            "name": info.name or info.activity_id,
            "candidate_groups": list(info.candidate_groups),
            "assignee": info.assignee,
        }
        for info in load(instance).effects().user_tasks
    ]


def open_job_activities(*, instance_ids) -> dict[int, list[str]]:
    """Instance id -> the activities of its automated steps not yet done (pending, running or
    failed), oldest first: one query for a page of instances, without reading their state."""
    found: dict[int, list[str]] = {}
    rows = (
        Job.objects.filter(
            instance_id__in=list(instance_ids),
            status__in=[JobStatus.PENDING, JobStatus.RUNNING, JobStatus.INCIDENT],
        )
        .order_by("instance_id", "id")
        .values_list("instance_id", "activity_id")
    )
    for instance_id, activity_id in rows:
        found.setdefault(instance_id, []).append(activity_id)
    return found


def instance_activity(*, instance: ProcessInstance) -> dict:
    """What the instance is waiting on now."""
    return {
        "user_tasks": instance_waiting_user_tasks(instance=instance),
        "jobs": list(
            Job.objects.filter(
                instance=instance,
                status__in=[JobStatus.PENDING, JobStatus.RUNNING, JobStatus.INCIDENT],
            ).values(
                "id", "activity_id", "connector", "status", "attempts", "max_attempts", "last_error"
            )
        ),
        "timers": list(
            Timer.objects.filter(instance=instance, fired_at__isnull=True, cancelled=False).values(
                "activity_id", "due_at"
            )
        ),
        "messages": list(
            MessageSubscription.objects.filter(instance=instance).values(
                "activity_id", "message_name", "correlation_key"
            )
        ),
        "incidents": list(
            Incident.objects.filter(instance=instance, status=IncidentStatus.OPEN).values(
                "id", "activity_id", "message"
            )
        ),
    }


def incident_list(*, status: str = IncidentStatus.OPEN) -> QuerySet[Incident]:
    qs = Incident.objects.select_related("instance", "job")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-id")


def active_counts_by_version(*, process_key: str) -> dict[int, int]:
    """{version id: running or suspended instances} of one process (the versions' history)."""
    rows = (
        ProcessInstance.objects.filter(
            process_key=process_key,
            status__in=[InstanceStatus.RUNNING, InstanceStatus.SUSPENDED],
            is_test_run=False,
        )
        .values("version_id")
        .annotate(n=Count("id"))
    )
    return {row["version_id"]: row["n"] for row in rows}


def migration_runs(*, process_key: str = "") -> QuerySet[MigrationRun]:
    """Batch migrations, newest first, without what only one run's page shows (its per-instance
    report, instance ids and mapping grow with the batch)."""
    runs = MigrationRun.objects.select_related("created_by").defer(
        "report", "instance_ids", "mapping"
    )
    return runs.filter(process_key=process_key) if process_key else runs
