"""People around the work: out-of-office substitutions, notification settings, SLA escalation,
and pruning the live feed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.accounts import permissions
from apps.accounts.models import User
from apps.accounts.roles import PERM_VIEW_INSTANCE, PERM_VIEW_TASK, PERM_WORK_TASK, Role
from apps.audit.actions import AuditAction
from apps.audit.services import record
from apps.common.actors import Actor
from apps.common.errors import Conflict, InvalidInput, NotFound
from apps.engine import services as engine
from apps.inbox import notifications
from apps.inbox.models import (
    HumanTask,
    InboxEvent,
    NotificationSettings,
    Substitution,
    TaskStatus,
)
from apps.inbox.services.steps import active_user, task_change_record


def substitution_set(
    *, user: User, substitute_username: str, starts_at: datetime, ends_at: datetime, actor: Actor
) -> Substitution:
    substitute = active_user(substitute_username)
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


def _each_still_due(
    due: list[tuple[int, int]], still_due: dict, act: Callable[[HumanTask], None]
) -> int:
    """Run ``act`` on each (task id, instance id) of ``due`` whose task is still open and
    matches ``still_due``, each in its own transaction under the instance lock, then the task
    lock (``act`` runs with both held and marks the task, so a second sweep or a second
    scheduler finds nothing to do). Returns how many tasks were acted on."""
    done = 0
    for task_id, instance_id in due:
        with transaction.atomic():
            engine.instance_lock(instance_id=instance_id)
            task = (
                HumanTask.objects.select_for_update(of=("self",))
                .select_related("instance")
                .filter(pk=task_id, status=TaskStatus.OPEN, **still_due)
                .first()
            )
            if task is None:
                continue
            act(task)
            done += 1
    return done


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

    def escalate(task: HumanTask) -> None:
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
            permissions.grant_many(
                [
                    (PERM_VIEW_TASK, task),
                    (PERM_WORK_TASK, task),
                    (PERM_VIEW_INSTANCE, task.instance),
                ],
                role=role,
            )
        task.save(update_fields=fields)
        members = list(User.objects.filter(groups__name=role, is_active=True).order_by("pk"))
        sent = notifications.task_escalated(
            task=task, users=members, reason=f"passed its SLA ({action} {role})"
        )
        task_change_record(
            AuditAction.TASK_ESCALATED,
            task,
            SCHEDULER,
            kind="escalated",
            data={"action": action, "role": role, "notified": sent},
        )

    return _each_still_due(due, {"escalated_at__isnull": True}, escalate)


def _holders(task: HumanTask) -> list[User]:
    """Who holds the task: its assignee, else everyone it is offered to (by name or role)."""
    if task.assignee_id:
        return list(User.objects.filter(pk=task.assignee_id, is_active=True))
    return list(
        User.objects.filter(
            Q(username__in=list(task.candidate_users))
            | Q(groups__name__in=list(task.candidate_groups)),
            is_active=True,
        )
        .distinct()
        .order_by("pk")
    )


def tasks_warn_at_risk(*, now: datetime | None = None, limit: int = 200) -> int:
    """Announce open tasks past their SLA warning time ("at risk"), each exactly once (beat).

    Each task is handled in its own transaction under the instance and task locks and marked
    ``at_risk_notified_at`` there, so a second sweep (or a second scheduler) finds nothing to
    do. Audited as ``task.at_risk`` by the scheduler; the assignee (or, unclaimed, everyone it
    is offered to) gets an e-mail unless they turned SLA e-mails off. A task already past its
    breach is left to the escalation (``tasks_escalate_due``), which says more.
    """
    now = now or timezone.now()
    due = list(
        HumanTask.objects.filter(
            status=TaskStatus.OPEN,
            at_risk_notified_at__isnull=True,
            escalated_at__isnull=True,
            sla_warning_at__lte=now,
        )
        .filter(Q(sla_breach_at__isnull=True) | Q(sla_breach_at__gt=now))
        .order_by("sla_warning_at", "id")
        .values_list("pk", "instance_id")[:limit]
    )

    def warn(task: HumanTask) -> None:
        task.at_risk_notified_at = now
        task.save(update_fields=["at_risk_notified_at"])
        sent = notifications.task_at_risk(task=task, users=_holders(task))
        task_change_record(
            AuditAction.TASK_AT_RISK,
            task,
            SCHEDULER,
            kind="at_risk",
            data={
                "warning_at": task.sla_warning_at.isoformat() if task.sla_warning_at else None,
                "breach_at": task.sla_breach_at.isoformat() if task.sla_breach_at else None,
                "notified": sent,
            },
        )

    still_due = {"at_risk_notified_at__isnull": True, "escalated_at__isnull": True}
    return _each_still_due(due, still_due, warn)


def inbox_events_prune(*, older_than: timedelta = timedelta(days=1)) -> int:
    """Forget live-feed rows older than ``older_than``: a browser away that long reloads its
    list anyway (the feed is a doorbell log, not the truth)."""
    deleted, _ = InboxEvent.objects.filter(created_at__lt=timezone.now() - older_than).delete()
    return deleted
