""" "More information needed": an approver sends a task back to the requester with a question;
the requester answers (optionally with a file) and the task returns to the approver.

While the task waits on the requester (status ``waiting``) it is in no approver's inbox, the
at-risk and escalation sweeps skip it (they read open tasks only) and its SLA clock is paused:
the answer moves the warning, breach and due instants by the paused time (business time where
the model gave the threshold in business time, apps.inbox.sla_times) and adds the wall-clock
pause to ``paused_seconds``, which the reports take out of the task's durations.

Lock order as everywhere: the instance row, then the task row.
"""

from __future__ import annotations

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.audit.actions import AuditAction
from apps.audit.services import record
from apps.common.actors import Actor
from apps.common.errors import Conflict, InvalidInput, NotFound
from apps.engine import services as engine
from apps.inbox import notifications
from apps.inbox.live import publish_task_changed
from apps.inbox.models import HumanTask, TaskComment, TaskStatus
from apps.inbox.projection import rules_for_version_id
from apps.inbox.services.requests import attachment_add
from apps.inbox.services.steps import lock_open_task, require_eligible
from apps.inbox.services.tasks import MAX_COMMENT
from apps.inbox.sla_times import sla_deadlines_resumed


def _text(value: str, *, field: str, what: str) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidInput(
            f"Write {what} first.",
            code=f"empty_{field}",
            details=[{"field": field, "message": "This field is required."}],
        )
    if len(text) > MAX_COMMENT:
        raise InvalidInput(
            f"The {field} is limited to {MAX_COMMENT} characters.",
            code=f"{field}_too_long",
            details=[{"field": field, "message": "Too long."}],
        )
    return text


def task_info_request(*, task_id: int, user: User, question: str, actor: Actor) -> HumanTask:
    """Send the task back to its requester with ``question`` (a candidate or the assignee).

    The asker keeps the task (it is claimed for them if it was not), so the answer comes back
    to them. A second click finds the task waiting already: 409 ``task_not_open``.
    """
    text = _text(question, field="question", what="your question")
    with transaction.atomic():
        instance, task = lock_open_task(task_id, user)
        if task.assignee_id and task.assignee_id != user.pk:
            raise Conflict(
                f"Task {task_id} is claimed by {getattr(task.assignee, 'username', '')}.",
                code="task_claimed",
            )
        require_eligible(task, user)
        if not instance.started_by_id:
            raise Conflict(
                "This request was not started by a person, so there is nobody to ask.",
                code="no_requester",
            )
        if instance.started_by_id == user.pk:
            raise Conflict("You are the requester of this request.", code="ask_yourself")
        now = timezone.now()
        task.transition_to(TaskStatus.WAITING)
        task.paused_at = now
        task.info_question = text
        fields = ["status", "paused_at", "info_question"]
        if task.assignee_id is None:
            task.assignee = user
            task.claimed_at = now
            fields += ["assignee", "claimed_at"]
        task.save(update_fields=fields)
        # the model's own escalation (boundary timers on the task) stands still too
        timers = engine.user_task_timers_pause(instance=instance, task_id=task.task_id)
        TaskComment.objects.create(
            instance=instance, task=task, author=user, body=f"More information needed: {text}"
        )
        publish_task_changed(task, "info_requested", also=(instance.started_by_id,))
        record(
            AuditAction.TASK_INFO_REQUESTED,
            instance=instance,
            actor=actor,
            task_id=task.pk,
            before={"status": TaskStatus.OPEN},
            after={"status": TaskStatus.WAITING, "assignee": user.username},
            data={
                "question": text,
                "requester": getattr(instance.started_by, "username", ""),
                "timers_paused": timers,
            },
        )
        requester = User.objects.filter(pk=instance.started_by_id, is_active=True).first()
        if requester is not None:
            notifications.info_requested(task=task, user=requester, question=text)
    return task


def task_info_provide(
    *,
    task_id: int,
    user: User,
    answer: str,
    actor: Actor,
    upload: UploadedFile | None = None,
) -> HumanTask:
    """The requester answers: the task returns to the approver and its SLA clock runs again.

    Only the requester of the task's request may answer (anyone else: 404, as for a task that
    does not exist); a second click finds the task open again: 409 ``task_not_waiting``.
    """
    text = _text(answer, field="answer", what="your answer")
    head = HumanTask.objects.filter(pk=task_id).values("instance_id").first()
    if head is None:
        raise _not_yours(task_id)
    with transaction.atomic():
        instance = engine.instance_lock(instance_id=head["instance_id"])
        if instance.started_by_id != user.pk:
            raise _not_yours(task_id)
        task = HumanTask.objects.select_for_update(of=("self",)).get(pk=task_id)
        if task.status != TaskStatus.WAITING or task.paused_at is None:
            raise Conflict(
                f"Task {task_id} is not waiting for your answer (it is {task.status}).",
                code="task_not_waiting",
            )
        if upload is not None:  # refused files refuse the answer too (one transaction)
            attachment_add(instance=instance, user=user, upload=upload, actor=actor, task=task)
        now = timezone.now()
        rules = rules_for_version_id(instance.version_id)
        before = {
            "sla_warning_at": _iso(task.sla_warning_at),
            "sla_breach_at": _iso(task.sla_breach_at),
            "due_at": _iso(task.due_at),
        }
        task.sla_warning_at, task.sla_breach_at, task.due_at = sla_deadlines_resumed(
            rules,
            rules.task(task.activity_id),
            warning_at=task.sla_warning_at,
            breach_at=task.sla_breach_at,
            due_at=task.due_at,
            paused_at=task.paused_at,
            now=now,
        )
        timers = engine.user_task_timers_resume(
            instance=instance, task_id=task.task_id, paused_at=task.paused_at, now=now
        )
        paused = max((now - task.paused_at).total_seconds(), 0.0)
        task.transition_to(TaskStatus.OPEN)
        task.paused_seconds += paused
        task.paused_at = None
        question, task.info_question = task.info_question, ""
        task.save(
            update_fields=[
                "status",
                "paused_at",
                "paused_seconds",
                "info_question",
                "sla_warning_at",
                "sla_breach_at",
                "due_at",
            ]
        )
        TaskComment.objects.create(instance=instance, task=task, author=user, body=text)
        publish_task_changed(task, "info_provided", also=(user.pk,))
        record(
            AuditAction.TASK_INFO_PROVIDED,
            instance=instance,
            actor=actor,
            task_id=task.pk,
            before={"status": TaskStatus.WAITING, **before},
            after={
                "status": TaskStatus.OPEN,
                "sla_warning_at": _iso(task.sla_warning_at),
                "sla_breach_at": _iso(task.sla_breach_at),
                "due_at": _iso(task.due_at),
            },
            data={
                "question": question,
                "answer": text,
                "paused_seconds": round(paused, 3),
                "timers_resumed": timers,
            },
        )
        if task.assignee_id:
            notifications.info_provided(task=task, user=task.assignee)
    return task


def _not_yours(task_id: int) -> NotFound:
    return NotFound(
        f"Task {task_id} does not exist or is not waiting on you.", code="task_not_found"
    )


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None
