"""Inbox and request writes: claim, unclaim, delegate (and resolve), reassign, complete /
approve / reject (four-eyes, reject comment), bulk approve, comments, attachments, out-of-office
substitutions, notification settings, starting and cancelling requests, SLA escalation.

Lock order everywhere: the instance row (engine.instance_lock), then the task row.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from apps.accounts import permissions
from apps.accounts.models import User
from apps.accounts.roles import PERM_VIEW_INSTANCE, PERM_VIEW_TASK, PERM_WORK_TASK, Role
from apps.audit.actions import AuditAction
from apps.audit.services import record, record_for_instance
from apps.common.actors import Actor
from apps.common.errors import AccessDenied, Conflict, InvalidInput, NotFound
from apps.engine import services as engine
from apps.engine.models import InstanceStatus, ProcessInstance
from apps.inbox import notifications
from apps.inbox.live import publish_task_changed
from apps.inbox.models import (
    Delegation,
    HumanTask,
    InboxEvent,
    NotificationSettings,
    Substitution,
    TaskAttachment,
    TaskComment,
    TaskStatus,
)
from apps.inbox.projection import rules_for_version_id
from apps.inbox.validation import form_errors

MAX_COMMENT = 4000
DEFAULT_ATTACHMENT_TYPES = (
    "application/pdf",
    "image/png",
    "image/jpeg",
    "text/plain",
    "text/csv",
)


def _not_found(task_id: int) -> NotFound:
    return NotFound(
        f"Task {task_id} does not exist or is not offered to you.", code="task_not_found"
    )


def _lock(task_id: int, user) -> tuple[ProcessInstance, HumanTask]:
    """Lock instance then task (the global lock order). Requires an open transaction."""
    head = HumanTask.objects.filter(pk=task_id).values("instance_id").first()
    if head is None:
        raise _not_found(task_id)
    instance = engine.instance_lock(instance_id=head["instance_id"])
    task = (
        HumanTask.objects.select_for_update(of=("self",)).select_related("assignee").get(pk=task_id)
    )
    if not permissions.can(user, PERM_WORK_TASK, task):
        raise _not_found(task_id)
    if task.status != TaskStatus.OPEN:
        who = f" by {task.completed_by.username}" if task.completed_by_id else ""
        raise Conflict(f"Task {task_id} is already {task.status}{who}.", code="task_not_open")
    return instance, task


def _behalf(task: HumanTask, user: User) -> str:
    """The absent user a substitute acts for, for the audit trail ("" otherwise)."""
    if task.on_behalf_of_id and task.on_behalf_of_id != user.pk:
        return task.on_behalf_of.username
    return ""


def _audit(action: AuditAction, task: HumanTask, actor: Actor, *, kind: str, **extra) -> None:
    publish_task_changed(task, kind)
    record_for_instance(action, task.instance, actor=actor, task_id=task.pk, **extra)


def _is_manager(user: User) -> bool:
    return permissions.has_role(user, Role.ADMIN, Role.MANAGER)


def _grant(task: HumanTask, user: User) -> None:
    for perm in (PERM_VIEW_TASK, PERM_WORK_TASK):
        permissions.grant(perm, obj=task, user=user)
    permissions.grant(PERM_VIEW_INSTANCE, obj=task.instance, user=user)


def _four_eyes_blocks(task: HumanTask, user_id: int | None) -> bool:
    return (
        task.is_approval
        and user_id is not None
        and user_id
        in (
            task.requested_by_id,
            task.four_eyes_user_id,
        )
    )


def four_eyes_message(task: HumanTask, user: User) -> str:
    if user.pk == task.requested_by_id:
        return "Four-eyes rule: you started this request, so another approver must decide it."
    return "Four-eyes rule: the process names you as someone who may not approve this request."


def _target_user(username: str) -> User:
    target = User.objects.filter(username=username, is_active=True).first()
    if target is None:
        raise InvalidInput(f"There is no active user '{username}'.", code="unknown_user")
    return target


# --- claim / unclaim / delegate / reassign ------------------------------------------------------


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
        _audit(
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
        _, task = _lock(task_id, user)
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
        before = task.assignee.username
        task.assignee = None
        task.claimed_at = None
        task.owner = None
        task.delegation = ""
        task.save(update_fields=["assignee", "claimed_at", "owner", "delegation"])
        _audit(
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
        _, task = _lock(task_id, user)
        if task.assignee_id not in (None, user.pk) and not _is_manager(user):
            raise AccessDenied(
                "Only the assignee (or a manager) can delegate this task.", code="task_not_yours"
            )
        if task.delegation == Delegation.PENDING:
            raise Conflict("This task is already delegated.", code="task_delegated")
        target = _target_user(to_username)
        if _four_eyes_blocks(task, target.pk):  # the weightier reason first
            raise InvalidInput(
                "An approval cannot be delegated to someone who may not approve it (four-eyes).",
                code="four_eyes",
            )
        if target.pk == user.pk:
            raise InvalidInput("Delegate to someone else.", code="delegate_to_self")
        before = task.assignee.username if task.assignee else None
        owner = task.assignee or user
        task.owner = owner
        task.assignee = target
        task.delegation = Delegation.PENDING
        task.claimed_at = timezone.now()
        task.save(update_fields=["owner", "assignee", "delegation", "claimed_at"])
        _grant(task, target)
        _audit(
            AuditAction.TASK_DELEGATED,
            task,
            actor,
            kind="delegated",
            before={"assignee": before},
            after={"assignee": target.username, "owner": owner.username},
            data={"from": owner.username, "to": target.username},
        )
        notifications.task_assigned(task=task, user=target)
    return task


def task_reassign(*, task_id: int, user: User, to_username: str, actor: Actor) -> HumanTask:
    """Move the task to ``to_username`` for good (managers, or the current assignee)."""
    with transaction.atomic():
        _, task = _lock(task_id, user)
        if not (_is_manager(user) or task.assignee_id == user.pk):
            raise AccessDenied(
                "Only a manager or the current assignee can reassign this task.",
                code="task_not_yours",
            )
        target = _target_user(to_username)
        if _four_eyes_blocks(task, target.pk):
            raise InvalidInput(
                "An approval cannot be given to someone who may not approve it (four-eyes).",
                code="four_eyes",
            )
        before = task.assignee.username if task.assignee else None
        task.assignee = target
        task.owner = None
        task.delegation = ""
        task.claimed_at = timezone.now()
        task.save(update_fields=["assignee", "owner", "delegation", "claimed_at"])
        _grant(task, target)
        _audit(
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
    return {**data, "approved": approved, task.outcome_variable: outcome}, outcome


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
    with transaction.atomic():
        instance, task = _lock(task_id, user)
        if task.assignee_id and task.assignee_id != user.pk:
            raise Conflict(
                f"Task {task_id} is claimed by {task.assignee.username}.", code="task_claimed"
            )
        if _four_eyes_blocks(task, user.pk):
            raise AccessDenied(four_eyes_message(task, user), code="four_eyes")
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
    _audit(
        AuditAction.TASK_RESOLVED,
        task,
        actor,
        kind="resolved",
        after={"assignee": owner.username, "data": data, "outcome": outcome},
        data={"delegate": user.username, "owner": owner.username},
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


def _lock_request(*, instance_id: int) -> ProcessInstance:
    return engine.instance_lock(instance_id=instance_id)


def comment_add(
    *, instance: ProcessInstance, user: User, body: str, actor: Actor, task: HumanTask | None = None
) -> TaskComment:
    """Comment on a request (the caller checked the user may see it)."""
    text = (body or "").strip()
    if not text:
        raise InvalidInput(
            "Write a comment first.",
            code="empty_comment",
            details=[{"field": "body", "message": "This field is required."}],
        )
    if len(text) > MAX_COMMENT:
        raise InvalidInput(
            f"A comment is limited to {MAX_COMMENT} characters.",
            code="comment_too_long",
            details=[{"field": "body", "message": "Too long."}],
        )
    with transaction.atomic():
        comment = TaskComment.objects.create(instance=instance, task=task, author=user, body=text)
        record_for_instance(
            AuditAction.REQUEST_COMMENTED,
            instance,
            actor=actor,
            task_id=task.pk if task else None,
            data={"comment_id": comment.pk, "body": text},
        )
    return comment


def attachment_limits() -> tuple[int, tuple[str, ...]]:
    size = int(getattr(settings, "FLOWGATE_ATTACHMENT_MAX_BYTES", 5 * 1024 * 1024))
    types = tuple(getattr(settings, "FLOWGATE_ATTACHMENT_TYPES", DEFAULT_ATTACHMENT_TYPES))
    return size, types


def attachment_add(
    *,
    instance: ProcessInstance,
    user: User,
    upload: UploadedFile,
    actor: Actor,
    task: HumanTask | None = None,
) -> TaskAttachment:
    """Store a file through Django's storage API; refuse it when too large or of a type that is
    not allowed (judged by the name's extension and the declared type, which must agree)."""
    max_bytes, allowed = attachment_limits()
    if upload is None:
        raise InvalidInput(
            "Choose a file.", code="no_file", details=[{"field": "file", "message": "Required."}]
        )
    if upload.size > max_bytes:
        raise InvalidInput(
            f"The file is {upload.size:,} bytes; the limit is {max_bytes:,} bytes.",
            code="file_too_large",
            details=[{"field": "file", "message": "Too large."}],
        )
    name = (upload.name or "file").rsplit("/", 1)[-1].rsplit("\\", 1)[-1][:200]
    guessed = mimetypes.guess_type(name)[0] or "application/octet-stream"
    declared = (upload.content_type or "").split(";")[0].strip().lower()
    if guessed not in allowed or (declared and declared != guessed):
        raise InvalidInput(
            f"Files of this type are not accepted; allowed: {', '.join(allowed)}.",
            code="file_type",
            details=[{"field": "file", "message": "Type not allowed."}],
        )
    with transaction.atomic():
        attachment = TaskAttachment(
            instance=instance,
            task=task,
            uploaded_by=user,
            name=name,
            content_type=guessed,
            size=upload.size,
        )
        attachment.file.save(name, upload, save=False)
        attachment.save()
        record_for_instance(
            AuditAction.REQUEST_ATTACHMENT_ADDED,
            instance,
            actor=actor,
            task_id=task.pk if task else None,
            data={"attachment_id": attachment.pk, "name": name, "size": upload.size},
        )
    return attachment


# --- requests -----------------------------------------------------------------------------------


def request_start(*, user: User, process_key: str, data: dict, actor: Actor) -> ProcessInstance:
    """Start a request from the catalog: the user must be allowed to start it (by role), and
    the start form's data must pass its validation."""
    if not isinstance(data, dict):
        raise InvalidInput("The request data must be a JSON object.", code="invalid_data")
    version = engine.version_latest_deployed(process_key=process_key)
    rules = rules_for_version_id(version.pk)
    if not rules.may_start(username=user.username, roles=user.role_names()):
        raise NotFound(f"No process '{process_key}' that you may start.", code="process_not_found")
    errors = form_errors(rules.start_form, data)
    if errors:
        raise InvalidInput(
            "The form has errors; correct them and submit again.",
            code="invalid_form",
            details=errors,
        )
    return engine.instance_start(version=version, variables=data, actor=actor, started_by=user)


def request_cancel(*, instance_id: int, user: User, actor: Actor) -> ProcessInstance:
    """The requester withdraws a running request, where the model allows it."""
    instance = ProcessInstance.objects.select_related("version").filter(pk=instance_id).first()
    if instance is None or instance.started_by_id != user.pk:
        raise NotFound(
            f"Request {instance_id} does not exist or is not yours.", code="request_not_found"
        )
    if not rules_for_version_id(instance.version_id).cancellable:
        raise AccessDenied(
            "This process does not allow withdrawing a request.", code="not_cancellable"
        )
    if instance.status not in (InstanceStatus.RUNNING, InstanceStatus.SUSPENDED):
        raise Conflict(f"Request {instance_id} is already {instance.status}.", code="request_ended")
    return engine.instance_cancel(
        instance_id=instance_id, actor=actor, reason="withdrawn by requester"
    )


# --- out of office, notification settings ------------------------------------------------------


def substitution_set(
    *, user: User, substitute_username: str, starts_at: datetime, ends_at: datetime, actor: Actor
) -> Substitution:
    substitute = _target_user(substitute_username)
    if substitute.pk == user.pk:
        raise InvalidInput(
            "Choose someone else as your substitute.",
            code="substitute_self",
            details=[{"field": "substitute", "message": "Not yourself."}],
        )
    if ends_at <= starts_at:
        raise InvalidInput(
            "The period must end after it starts.",
            code="invalid_period",
            details=[{"field": "ends_at", "message": "Must be after the start."}],
        )
    with transaction.atomic():
        substitution = Substitution.objects.create(
            user=user, substitute=substitute, starts_at=starts_at, ends_at=ends_at
        )
        record(
            AuditAction.SUBSTITUTION_SET,
            actor=actor,
            data={
                "user": user.username,
                "substitute": substitute.username,
                "starts_at": starts_at,
                "ends_at": ends_at,
            },
        )
    return substitution


def substitution_end(*, substitution_id: int, user: User, actor: Actor) -> Substitution:
    with transaction.atomic():
        substitution = (
            Substitution.objects.select_for_update().filter(pk=substitution_id, user=user).first()
        )
        if substitution is None:
            raise NotFound("No such substitution of yours.", code="substitution_not_found")
        now = timezone.now()
        if substitution.ends_at <= now:
            raise Conflict("This substitution is already over.", code="substitution_over")
        substitution.ends_at = max(now, substitution.starts_at + timedelta(microseconds=1))
        substitution.save(update_fields=["ends_at"])
        record(
            AuditAction.SUBSTITUTION_ENDED,
            actor=actor,
            data={"user": user.username, "substitute": substitution.substitute.username},
        )
    return substitution


def notification_settings_update(
    *, user: User, email_on_assignment: bool, email_on_escalation: bool
) -> NotificationSettings:
    prefs, _ = NotificationSettings.objects.update_or_create(
        user=user,
        defaults={
            "email_on_assignment": email_on_assignment,
            "email_on_escalation": email_on_escalation,
        },
    )
    return prefs


# --- SLA ----------------------------------------------------------------------------------------

SCHEDULER = Actor.system("scheduler")


def tasks_escalate_due(*, now: datetime | None = None, limit: int = 200) -> int:
    """Escalate open tasks past their SLA breach time, each exactly once (run by beat).

    Each task is handled in its own transaction under the instance and task locks and is
    marked ``escalated_at`` there, so two schedulers never escalate one task twice.
    Actions (``flowgate:escalation``): ``notify:<role>`` e-mails the role's members,
    ``reassign:<role>`` offers the task to that role (unclaimed); no action: notify the
    managers. A boundary timer on the task is the engine's business (its own path).
    """
    now = now or timezone.now()
    due = list(
        HumanTask.objects.filter(
            status=TaskStatus.OPEN, escalated_at__isnull=True, sla_breach_at__lte=now
        )
        .order_by("sla_breach_at", "id")
        .values_list("pk", "instance_id")[:limit]
    )
    escalated = 0
    for task_id, instance_id in due:
        with transaction.atomic():
            engine.instance_lock(instance_id=instance_id)
            task = (
                HumanTask.objects.select_for_update()
                .filter(pk=task_id, status=TaskStatus.OPEN, escalated_at__isnull=True)
                .first()
            )
            if task is None:
                continue
            action, _, role = (task.escalation or f"notify:{Role.MANAGER}").partition(":")
            role = role or Role.MANAGER
            task.escalated_at = now
            fields = ["escalated_at"]
            if action == "reassign":
                task.candidate_groups = [role]
                task.assignee = None
                task.owner = None
                task.delegation = ""
                fields += ["candidate_groups", "assignee", "owner", "delegation"]
                permissions.grant(PERM_VIEW_TASK, obj=task, role=role)
                permissions.grant(PERM_WORK_TASK, obj=task, role=role)
                permissions.grant(PERM_VIEW_INSTANCE, obj=task.instance, role=role)
            task.save(update_fields=fields)
            members = list(User.objects.filter(groups__name=role, is_active=True).order_by("pk"))
            sent = notifications.task_escalated(
                task=task, users=members, reason=f"passed its SLA ({action} {role})"
            )
            _audit(
                AuditAction.TASK_ESCALATED,
                task,
                SCHEDULER,
                kind="escalated",
                data={"action": action, "role": role, "notified": sent},
            )
            escalated += 1
    return escalated


def inbox_events_prune(*, older_than: timedelta = timedelta(days=1)) -> int:
    """Forget live-feed rows older than ``older_than``: a browser away that long reloads its
    list anyway (the feed is a doorbell log, not the truth)."""
    deleted, _ = InboxEvent.objects.filter(created_at__lt=timezone.now() - older_than).delete()
    return deleted
