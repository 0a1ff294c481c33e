"""Task actions: claim, unclaim, delegate (and resolve), reassign, complete / approve / reject
(four-eyes, reject comment), bulk approve.

Lock order everywhere: the instance row (engine.instance_lock), then the task row.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from apps.accounts import permissions
from apps.accounts.models import User
from apps.accounts.roles import PERM_VIEW_INSTANCE, PERM_VIEW_TASK, PERM_WORK_TASK, Role
from apps.audit.actions import AuditAction
from apps.audit.services import batched
from apps.common.actors import Actor
from apps.common.errors import AccessDenied, Conflict, InvalidInput, NotFound
from apps.engine import services as engine
from apps.engine.core.approvals import decision_of, decision_variables
from apps.inbox import eligibility, notifications
from apps.inbox.live import events_batched, publish_task_changed
from apps.inbox.models import (
    Delegation,
    HumanTask,
    TaskComment,
    TaskStatus,
)
from apps.inbox.services.steps import (
    lock_open_task,
    require_eligible,
    task_change_record,
)
from apps.inbox.validation import form_errors

MAX_COMMENT = 4000


def _behalf(task: HumanTask, user: User) -> str:
    """The absent user a substitute acts for, for the audit trail ("" otherwise)."""
    if task.on_behalf_of_id and task.on_behalf_of_id != user.pk:
        return getattr(task.on_behalf_of, "username", "")
    return ""


def _is_manager(user: User) -> bool:
    return permissions.has_role(user, Role.ADMIN, Role.MANAGER)


def _grant(task: HumanTask, user: User) -> None:
    permissions.grant_many(
        [(PERM_VIEW_TASK, task), (PERM_WORK_TASK, task), (PERM_VIEW_INSTANCE, task.instance)],
        user=user,
    )


def four_eyes_message(task: HumanTask, user: User) -> str:
    if user.pk == task.requested_by_id:
        return "Four-eyes rule: you started this request, so another approver must decide it."
    return "Four-eyes rule: the process names you as someone who may not approve this request."


def _require_not_requester(task: HumanTask, user: User, verb: str) -> None:
    """Whoever four-eyes keeps from an approval does not choose who decides it either."""
    if task.is_approval and user.pk in (task.requested_by_id, task.four_eyes_user_id):
        raise AccessDenied(
            f"Four-eyes rule: you may not decide this approval, so you may not {verb} it either.",
            code="four_eyes",
        )


def _eligible_target(task: HumanTask, username: str) -> User:
    """The active user ``username``, if eligible for the task; else 400 saying why (nothing
    changes)."""
    target = User.objects.filter(username=username, is_active=True).first() if username else None
    if target is None:
        raise InvalidInput(
            f"There is no active user '{username}'." if username else "Choose a person.",
            code="unknown_user",
            details=[{"field": "username", "message": "Choose a person from the list."}],
        )
    refused = eligibility.refusal(task, target)
    if refused is not None:
        raise InvalidInput(
            refused.message,
            code="four_eyes" if refused.code == "four_eyes" else "not_eligible",
            details=[{"field": "username", "message": refused.message, "reason": refused.code}],
        )
    return target


# --- claim / unclaim / delegate / reassign ------------------------------------------------------


def task_claim(*, task_id: int, user: User, actor: Actor) -> HumanTask:
    with transaction.atomic():
        _, task = lock_open_task(task_id, user)
        if task.assignee_id and task.assignee_id != user.pk:
            raise Conflict(
                f"Task {task_id} is already claimed by {getattr(task.assignee, 'username', '')}.",
                code="task_claimed",
            )
        if task.assignee_id == user.pk:
            return task
        require_eligible(task, user)
        task.assignee = user
        task.claimed_at = timezone.now()
        task.save(update_fields=["assignee", "claimed_at"])
        task_change_record(
            AuditAction.TASK_CLAIMED,
            task,
            actor,
            kind="claimed",
            after={"assignee": user.username},
            on_behalf_of=_behalf(task, user),
        )
    return task


def task_unclaim(*, task_id: int, user: User, actor: Actor) -> HumanTask:
    with transaction.atomic():
        _, task = lock_open_task(task_id, user)
        if task.assignee_id is None:
            raise Conflict(f"Task {task_id} is not claimed.", code="task_not_claimed")
        if task.assignee_id != user.pk and not _is_manager(user):
            raise AccessDenied(
                "Only the current assignee (or a manager) can give this task back.",
                code="task_not_yours",
            )
        if task.delegation == Delegation.PENDING:
            raise Conflict(
                "This task is delegated: the delegate resolves it, or its owner reassigns it.",
                code="task_delegated",
            )
        before = getattr(task.assignee, "username", "")
        task.assignee = None
        task.claimed_at = None
        task.owner = None
        task.delegation = ""
        task.save(update_fields=["assignee", "claimed_at", "owner", "delegation"])
        task_change_record(
            AuditAction.TASK_UNCLAIMED,
            task,
            actor,
            kind="unclaimed",
            before={"assignee": before},
            after={"assignee": None},
        )
    return task


def task_delegate(*, task_id: int, user: User, to_username: str, actor: Actor) -> HumanTask:
    """Hand the task to ``to_username`` for now: once the delegate resolves it, it returns to
    the delegator (its owner), who completes it."""
    with transaction.atomic():
        _, task = lock_open_task(task_id, user)
        if task.assignee_id not in (None, user.pk) and not _is_manager(user):
            raise AccessDenied(
                "Only the assignee (or a manager) can delegate this task.", code="task_not_yours"
            )
        if task.delegation == Delegation.PENDING:
            raise Conflict("This task is already delegated.", code="task_delegated")
        target = _eligible_target(task, to_username)  # the weightier reason first
        _require_not_requester(task, user, "delegate")
        if target.pk == user.pk:
            raise InvalidInput("Delegate to someone else.", code="delegate_to_self")
        before = getattr(task.assignee, "username", "") if task.assignee else None
        owner = task.assignee or user
        task.owner = owner
        task.assignee = target
        task.delegation = Delegation.PENDING
        task.claimed_at = timezone.now()
        task.save(update_fields=["owner", "assignee", "delegation", "claimed_at"])
        _grant(task, target)
        task_change_record(
            AuditAction.TASK_DELEGATED,
            task,
            actor,
            kind="delegated",
            before={"assignee": before},
            after={"assignee": target.username, "owner": getattr(owner, "username", "")},
            data={"from": getattr(owner, "username", ""), "to": target.username},
        )
        notifications.task_assigned(task=task, user=target)
    return task


def task_reassign(*, task_id: int, user: User, to_username: str, actor: Actor) -> HumanTask:
    """Move the task to ``to_username`` for good (managers, or the current assignee)."""
    with transaction.atomic():
        _, task = lock_open_task(task_id, user)
        if not (_is_manager(user) or task.assignee_id == user.pk):
            raise AccessDenied(
                "Only a manager or the current assignee can reassign this task.",
                code="task_not_yours",
            )
        target = _eligible_target(task, to_username)  # the weightier reason first
        _require_not_requester(task, user, "reassign")
        before = getattr(task.assignee, "username", "") if task.assignee else None
        task.assignee = target
        task.owner = None
        task.delegation = ""
        task.claimed_at = timezone.now()
        task.save(update_fields=["assignee", "owner", "delegation", "claimed_at"])
        _grant(task, target)
        task_change_record(
            AuditAction.TASK_REASSIGNED,
            task,
            actor,
            kind="reassigned",
            before={"assignee": before},
            after={"assignee": target.username},
            data={"from": before, "to": target.username, "by": user.username},
        )
        notifications.task_assigned(task=task, user=target)
    return task


# --- complete / approve / reject ----------------------------------------------------------------


def _approval_data(task: HumanTask, data: dict) -> tuple[dict, str]:
    approved = data.get("approved")
    if not isinstance(approved, bool):  # also read the outcome variable's text, as sent before
        approved = decision_of(data.get(task.outcome_variable))
    if not isinstance(approved, bool):
        raise InvalidInput(
            "Approve or reject: 'approved' must be true or false.",
            code="invalid_data",
            details=[{"field": "approved", "message": "Choose approve or reject."}],
        )
    outcome = "approved" if approved else "rejected"
    comment = data.get("comment")
    if (
        not approved
        and task.comment_required_on_reject
        and not (isinstance(comment, str) and comment.strip())
    ):
        raise InvalidInput(
            "Say why you reject: a comment is required.",
            code="comment_required",
            details=[{"field": "comment", "message": "A comment is required to reject."}],
        )
    # 'approved' is a boolean, the outcome variable "approved"/"rejected" (one rule, in the core)
    return decision_variables(
        data, approved=approved, outcome_variable=task.outcome_variable
    ), outcome


def task_complete(*, task_id: int, user: User, data: dict, actor: Actor) -> HumanTask:
    """Complete a task with form data (or resolve it, when it is delegated to ``user``).

    Approval tasks need ``approved`` (true/false) and obey four-eyes: whoever started the
    instance (or the user the model names) may not approve it. Two concurrent completions
    serialize on the instance lock; the second gets a Conflict (409).
    """
    if not isinstance(data, dict):
        raise InvalidInput("Task data must be a JSON object.", code="invalid_data")
    comment = data.get("comment")
    if comment is not None and (not isinstance(comment, str) or len(comment) > MAX_COMMENT):
        raise InvalidInput(
            f"The comment must be text of at most {MAX_COMMENT} characters.",
            code="invalid_data",
            details=[{"field": "comment", "message": "Too long."}],
        )
    # one INSERT for the audit events (the next tasks' "created", then this completion's) and
    # one for the feed rows (the completion, the next tasks, the instance): decision 044
    with transaction.atomic(), batched(), events_batched():
        instance, task = lock_open_task(task_id, user)
        if task.assignee_id and task.assignee_id != user.pk:
            raise Conflict(
                f"Task {task_id} is claimed by {getattr(task.assignee, 'username', '')}.",
                code="task_claimed",
            )
        require_eligible(task, user)
        outcome = ""
        if task.is_approval:
            data, outcome = _approval_data(task, data)
        errors = form_errors(task.form, data)
        if errors:
            raise InvalidInput(
                "The form has errors; correct them and submit again.",
                code="invalid_form",
                details=errors,
            )
        if task.delegation == Delegation.PENDING and task.owner_id:
            return _resolve(task, user=user, data=data, outcome=outcome, actor=actor)
        now = timezone.now()
        task.transition_to(TaskStatus.COMPLETED)
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
        publish_task_changed(task, "completed")
        if isinstance(comment, str) and comment.strip():
            TaskComment.objects.create(
                instance=instance, task=task, author=user, body=comment.strip()
            )
        # One audit event for the completion, carrying what the engine did next (decision 011).
        engine.user_task_complete(
            instance=instance,
            task_id=task.task_id,
            data=data,
            actor=actor,
            audit_as=(
                action,
                {
                    "task_id": task.pk,
                    "after": {"data": data, "outcome": outcome},
                    "on_behalf_of": _behalf(task, user),
                },
            ),
        )
    return task


def _resolve(task: HumanTask, *, user: User, data: dict, outcome: str, actor: Actor) -> HumanTask:
    """The delegate is done: the task goes back to its owner, with the delegate's data."""
    owner = task.owner
    task.assignee = owner
    task.delegation = Delegation.RESOLVED
    task.data = data
    task.outcome = outcome
    task.save(update_fields=["assignee", "delegation", "data", "outcome"])
    task_change_record(
        AuditAction.TASK_RESOLVED,
        task,
        actor,
        kind="resolved",
        after={"assignee": getattr(owner, "username", ""), "data": data, "outcome": outcome},
        data={"delegate": user.username, "owner": getattr(owner, "username", "")},
    )
    notifications.task_assigned(task=task, user=owner)
    return task


@dataclass(frozen=True)
class BulkResult:
    task_id: int
    ok: bool
    message: str


def tasks_bulk_approve(
    *, task_ids: list[int], user: User, comment: str = "", actor: Actor
) -> list[BulkResult]:
    """Approve each selected task on its own (own transaction, own checks). Tasks that need form
    input, are not approvals, are not the user's to decide or were decided meanwhile fail alone."""
    results = []
    for task_id in dict.fromkeys(task_ids):
        try:
            task = HumanTask.objects.filter(pk=task_id).only("is_approval", "form").first()
            if task is not None and not task.is_approval:
                raise InvalidInput("Only approvals can be approved in bulk.", code="not_approval")
            if task is not None and form_errors(task.form, {"approved": True}):
                raise InvalidInput(
                    "This task needs form input: open it to decide.", code="needs_input"
                )
            task_complete(
                task_id=task_id,
                user=user,
                data={"approved": True, **({"comment": comment} if comment else {})},
                actor=actor,
            )
        except (InvalidInput, NotFound, Conflict, AccessDenied) as exc:
            results.append(BulkResult(task_id=task_id, ok=False, message=exc.message))
        else:
            results.append(BulkResult(task_id=task_id, ok=True, message="Approved."))
    return results


# --- comments and attachments -------------------------------------------------------------------
