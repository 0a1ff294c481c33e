"""The steps the task writes share (``tasks``, ``info``, ``people``): find and lock an open task
the user may work on, require that the user may decide it, announce and audit a change, and
look up the person a task is handed to.

Lock order everywhere: the instance row (engine.instance_lock), then the task row.
"""

from __future__ import annotations

from apps.accounts import permissions
from apps.accounts.models import User
from apps.accounts.roles import PERM_WORK_TASK
from apps.audit.actions import AuditAction
from apps.audit.services import record
from apps.common.actors import Actor
from apps.common.errors import AccessDenied, Conflict, InvalidInput, NotFound
from apps.engine import services as engine
from apps.engine.models import ProcessInstance
from apps.inbox import eligibility
from apps.inbox.live import publish_task_changed
from apps.inbox.models import HumanTask, TaskStatus


def task_not_found(task_id: int) -> NotFound:
    return NotFound(
        f"Task {task_id} does not exist or is not offered to you.", code="task_not_found"
    )


def lock_open_task(task_id: int, user: User) -> tuple[ProcessInstance, HumanTask]:
    """Lock instance then task (the global lock order) and return both: 404 if the user may not
    work on the task, 409 ``task_not_open`` if it is no longer open. Requires an open
    transaction."""
    head = HumanTask.objects.filter(pk=task_id).values("instance_id").first()
    if head is None:
        raise task_not_found(task_id)
    instance = engine.instance_lock(instance_id=head["instance_id"])
    task = (
        HumanTask.objects.select_for_update(of=("self",)).select_related("assignee").get(pk=task_id)
    )
    if not permissions.can(user, PERM_WORK_TASK, task):
        raise task_not_found(task_id)
    if task.status != TaskStatus.OPEN:
        who = f" by {getattr(task.completed_by, 'username', '')}" if task.completed_by_id else ""
        raise Conflict(f"Task {task_id} is already {task.status}{who}.", code="task_not_open")
    return instance, task


def require_eligible(task: HumanTask, user: User) -> None:
    """The user may hold and decide the task (apps.inbox.eligibility), else 403 with why."""
    refused = eligibility.refusal(task, user, you=True)
    if refused is not None:
        raise AccessDenied(refused.message, code=refused.code)


def task_change_record(
    action: AuditAction, task: HumanTask, actor: Actor, *, kind: str, **extra
) -> None:
    """Announce the change on the live feed (``kind``) and write its audit event."""
    publish_task_changed(task, kind)
    record(action, instance=task.instance, actor=actor, task_id=task.pk, **extra)


def active_user(username: str) -> User:
    """The active user ``username``, else 400 ``unknown_user``."""
    target = User.objects.filter(username=username, is_active=True).first()
    if target is None:
        raise InvalidInput(f"There is no active user '{username}'.", code="unknown_user")
    return target
