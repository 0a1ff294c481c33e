"""Human task actions: claim, unclaim, delegate, complete, approve / reject (four-eyes)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from apps.accounts import permissions
from apps.accounts.models import User
from apps.accounts.roles import PERM_VIEW_INSTANCE, PERM_VIEW_TASK, PERM_WORK_TASK
from apps.audit.actions import AuditAction
from apps.audit.services import record_for_instance
from apps.common.actors import Actor
from apps.common.errors import AccessDenied, Conflict, InvalidInput, NotFound
from apps.engine import services as engine
from apps.inbox.live import publish_task_changed
from apps.inbox.models import HumanTask, TaskStatus
from apps.inbox.validation import form_errors


def _lock(task_id: int, user) -> tuple:
    """Lock instance then task (the global lock order). Requires an open transaction."""
    head = HumanTask.objects.filter(pk=task_id).values("instance_id").first()
    if head is None:
        raise NotFound(
            f"Task {task_id} does not exist or is not offered to you.", code="task_not_found"
        )
    instance = engine.instance_lock(instance_id=head["instance_id"])
    task = HumanTask.objects.select_for_update().get(pk=task_id)
    if not permissions.can(user, PERM_WORK_TASK, task):
        raise NotFound(
            f"Task {task_id} does not exist or is not offered to you.", code="task_not_found"
        )
    if task.status != TaskStatus.OPEN:
        raise Conflict(f"Task {task_id} is already {task.status}.", code="task_not_open")
    return instance, task


def _audit(action: AuditAction, task: HumanTask, actor: Actor, **extra) -> None:
    publish_task_changed(task)
    record_for_instance(action, task.instance, actor=actor, task_id=task.pk, **extra)


def task_claim(*, task_id: int, user: User, actor: Actor) -> HumanTask:
    with transaction.atomic():
        _, task = _lock(task_id, user)
        if task.assignee_id and task.assignee_id != user.pk:
            raise Conflict(
                f"Task {task_id} is already claimed by {task.assignee.username}.",
                code="task_claimed",
            )
        if task.assignee_id == user.pk:
            return task
        task.assignee = user
        task.claimed_at = timezone.now()
        task.save(update_fields=["assignee", "claimed_at"])
        _audit(AuditAction.TASK_CLAIMED, task, actor, after={"assignee": user.username})
    return task


def task_unclaim(*, task_id: int, user: User, actor: Actor) -> HumanTask:
    with transaction.atomic():
        _, task = _lock(task_id, user)
        if task.assignee_id != user.pk and not user.has_role("admin", "manager"):
            raise Conflict(
                "Only the current assignee (or a manager) can give this task back.",
                code="task_not_yours",
            )
        before = task.assignee.username if task.assignee else None
        task.assignee = None
        task.claimed_at = None
        task.save(update_fields=["assignee", "claimed_at"])
        _audit(AuditAction.TASK_UNCLAIMED, task, actor, before={"assignee": before})
    return task


def task_delegate(*, task_id: int, user: User, to_username: str, actor: Actor) -> HumanTask:
    with transaction.atomic():
        _, task = _lock(task_id, user)
        if task.assignee_id not in (None, user.pk) and not user.has_role("admin", "manager"):
            raise Conflict(
                "Only the assignee (or a manager) can delegate this task.", code="task_not_yours"
            )
        target = User.objects.filter(username=to_username, is_active=True).first()
        if target is None:
            raise InvalidInput(f"There is no active user '{to_username}'.", code="unknown_user")
        if task.is_approval and target.pk == task.requested_by_id:
            raise InvalidInput(
                "An approval cannot be delegated to the person who requested it.", code="four_eyes"
            )
        before = task.assignee.username if task.assignee else None
        task.assignee = target
        task.claimed_at = timezone.now()
        task.save(update_fields=["assignee", "claimed_at"])
        for perm in (PERM_VIEW_TASK, PERM_WORK_TASK):
            permissions.grant(perm, obj=task, user=target)
        permissions.grant(PERM_VIEW_INSTANCE, obj=task.instance, user=target)
        _audit(
            AuditAction.TASK_DELEGATED,
            task,
            actor,
            before={"assignee": before},
            after={"assignee": target.username},
        )
    return task


def task_complete(*, task_id: int, user: User, data: dict, actor: Actor) -> HumanTask:
    """Complete a task with form data. Approval tasks need ``approved`` (true/false) and obey
    four-eyes: whoever started the instance may not approve it."""
    if not isinstance(data, dict):
        raise InvalidInput("Task data must be a JSON object.", code="invalid_data")
    with transaction.atomic():
        instance, task = _lock(task_id, user)
        if task.assignee_id and task.assignee_id != user.pk:
            raise Conflict(
                f"Task {task_id} is claimed by {task.assignee.username}.", code="task_claimed"
            )
        outcome = ""
        if task.is_approval:
            if task.requested_by_id == user.pk:
                raise AccessDenied(
                    "Four-eyes rule: you started this request, so another approver must decide it.",
                    code="four_eyes",
                )
            approved = data.get("approved")
            if not isinstance(approved, bool) and data.get(task.outcome_variable) in (
                "approved",
                "rejected",
            ):
                approved = data[task.outcome_variable] == "approved"
            if not isinstance(approved, bool):
                raise InvalidInput(
                    "Approve or reject: 'approved' must be true or false.",
                    code="invalid_data",
                    details=[{"field": "approved", "message": "Choose approve or reject."}],
                )
            outcome = "approved" if approved else "rejected"
            data = {**data, "approved": approved, task.outcome_variable: outcome}
        errors = form_errors(task.form, data)
        if errors:
            raise InvalidInput(
                "The form has errors; correct them and submit again.",
                code="invalid_form",
                details=errors,
            )
        now = timezone.now()
        task.status = TaskStatus.COMPLETED
        task.assignee = user
        task.completed_by = user
        task.completed_at = now
        task.data = data
        task.outcome = outcome
        task.save(
            update_fields=["status", "assignee", "completed_by", "completed_at", "data", "outcome"]
        )
        action = {
            "approved": AuditAction.TASK_APPROVED,
            "rejected": AuditAction.TASK_REJECTED,
        }.get(outcome, AuditAction.TASK_COMPLETED)
        publish_task_changed(task)
        engine.user_task_complete(
            instance=instance,
            task_id=task.task_id,
            data=data,
            actor=actor,
            audit_as=(action, {"task_id": task.pk, "after": {"data": data, "outcome": outcome}}),
        )
    return task
