"""Keeps HumanTask rows in step with the engine's waiting user tasks. Called by engine services
inside the instance lock; never on its own."""

from __future__ import annotations

from datetime import datetime

from django.utils.dateparse import parse_datetime

from apps.accounts import permissions
from apps.accounts.models import User
from apps.accounts.roles import PERM_VIEW_INSTANCE, PERM_VIEW_TASK, PERM_WORK_TASK
from apps.audit.actions import AuditAction
from apps.audit.services import record_for_instance
from apps.common.actors import Actor
from apps.inbox.live import publish_task_changed
from apps.inbox.models import HumanTask, TaskStatus


def _parse_due(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parse_datetime(value)
    except ValueError:
        return None


def human_tasks_sync(*, instance, user_tasks, now: datetime, actor: Actor) -> list[HumanTask]:
    """Create tasks the engine now waits on; cancel open ones it no longer waits on.

    Requires: the caller holds the instance row lock.
    """
    open_tasks = {
        t.task_id: t for t in HumanTask.objects.filter(instance=instance, status=TaskStatus.OPEN)
    }
    waiting = {info.task_id: info for info in user_tasks}
    gone = [t for task_id, t in open_tasks.items() if task_id not in waiting]
    for task in gone:
        task.status = TaskStatus.CANCELLED
        task.completed_at = now
        task.save(update_fields=["status", "completed_at"])
        publish_task_changed(task)
    created = []
    for task_id, info in waiting.items():
        if (
            task_id in open_tasks
            or HumanTask.objects.filter(instance=instance, task_id=task_id).exists()
        ):
            continue
        assignee = User.objects.filter(username=info.assignee).first() if info.assignee else None
        task = HumanTask.objects.create(
            instance=instance,
            task_id=task_id,
            activity_id=info.activity_id,
            name=info.name or info.activity_id,
            process_key=instance.process_key,
            documentation=info.documentation or "",
            candidate_groups=list(info.candidate_groups),
            candidate_users=list(info.candidate_users),
            assignee=assignee,
            priority=info.priority if info.priority is not None else 50,
            due_at=_parse_due(info.due),
            form=info.form,
            is_approval=bool(info.approval),
            outcome_variable=info.outcome_variable or "outcome",
            requested_by_id=instance.started_by_id,
        )
        _grant_task_access(task, instance)
        publish_task_changed(task)
        record_for_instance(
            AuditAction.TASK_CREATED,
            instance,
            actor=actor,
            task_id=task.pk,
            data={
                "activity_id": task.activity_id,
                "candidate_groups": task.candidate_groups,
                "candidate_users": task.candidate_users,
                "assignee": assignee.username if assignee else None,
            },
        )
        created.append(task)
    return created


def _grant_task_access(task: HumanTask, instance) -> None:
    for role in task.candidate_groups:
        permissions.grant(PERM_VIEW_TASK, obj=task, role=role)
        permissions.grant(PERM_WORK_TASK, obj=task, role=role)
        permissions.grant(PERM_VIEW_INSTANCE, obj=instance, role=role)
    people = set(task.candidate_users) | ({task.assignee.username} if task.assignee else set())
    for user in User.objects.filter(username__in=people):
        permissions.grant(PERM_VIEW_TASK, obj=task, user=user)
        permissions.grant(PERM_WORK_TASK, obj=task, user=user)
        permissions.grant(PERM_VIEW_INSTANCE, obj=instance, user=user)
