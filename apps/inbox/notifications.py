"""E-mail notifications: a task assigned to someone, or escalated. Sent after commit through
Django's e-mail backend (console in the embedded default), with a direct link to the task.
A user turns them off on their notification settings (``NotificationSettings``)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse

from apps.inbox.models import NotificationSettings

logger = logging.getLogger(__name__)


def base_url() -> str:
    return str(getattr(settings, "FLOWGATE_BASE_URL", "http://127.0.0.1:8000")).rstrip("/")


def task_link(task) -> str:
    return base_url() + reverse("inbox:task", args=[task.pk])


def _wants(user, kind: str) -> bool:
    if not user or not user.email or not user.is_active:
        return False
    prefs = NotificationSettings.objects.filter(user=user).first()
    if prefs is None:
        return True
    return prefs.email_on_assignment if kind == "assignment" else prefs.email_on_escalation


def _send_after_commit(*, to: str, subject: str, body: str) -> None:
    def send() -> None:
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to])
        except Exception:  # a notification is a courtesy: the task is in the inbox anyway
            logger.warning("could not send a notification to %s", to, exc_info=True)

    transaction.on_commit(send)


def task_assigned(*, task, user) -> bool:
    """Tell ``user`` a task is theirs (or theirs to pick up as a substitute). True if sent."""
    if not _wants(user, "assignment"):
        return False
    on_behalf = f" (standing in for {task.on_behalf_of.username})" if task.on_behalf_of else ""
    _send_after_commit(
        to=user.email,
        subject=f"[Flowgate] Task for you: {task.name}",
        body=(
            f"Hello {user.get_username()},\n\n"
            f"'{task.name}' in {task.process_key} #{task.instance_id} is waiting for you"
            f"{on_behalf}.\n\nOpen it: {task_link(task)}\n\n"
            "You can turn these e-mails off under Inbox > Notification settings.\n"
        ),
    )
    return True


def task_escalated(*, task, users, reason: str) -> int:
    sent = 0
    for user in users:
        if not _wants(user, "escalation"):
            continue
        _send_after_commit(
            to=user.email,
            subject=f"[Flowgate] Escalated: {task.name}",
            body=(
                f"Hello {user.get_username()},\n\n'{task.name}' in {task.process_key} "
                f"#{task.instance_id} {reason}.\n\nOpen it: {task_link(task)}\n"
            ),
        )
        sent += 1
    return sent


def task_at_risk(*, task, users) -> int:
    """Tell the people who hold (or may pick up) ``task`` that its SLA warning time passed.
    Follows the escalation preference (SLA e-mails). Returns how many were sent."""
    sent = 0
    for user in users:
        if not _wants(user, "escalation"):
            continue
        due = f", due {task.due_at:%Y-%m-%d %H:%M} UTC" if task.due_at else ""
        _send_after_commit(
            to=user.email,
            subject=f"[Flowgate] At risk: {task.name}",
            body=(
                f"Hello {user.get_username()},\n\n'{task.name}' in {task.process_key} "
                f"#{task.instance_id} is at risk of missing its SLA{due}.\n\n"
                f"Open it: {task_link(task)}\n"
            ),
        )
        sent += 1
    return sent


def info_requested(*, task, user, question: str) -> bool:
    """Ask the requester ``user`` the approver's question (assignment preference)."""
    if not _wants(user, "assignment"):
        return False
    link = base_url() + reverse("requests:detail", args=[task.instance_id])
    _send_after_commit(
        to=user.email,
        subject=f"[Flowgate] More information needed: {task.name}",
        body=(
            f"Hello {user.get_username()},\n\n'{task.name}' of your request #{task.instance_id} "
            f"needs more information:\n\n{question}\n\nAnswer it here: {link}\n"
        ),
    )
    return True


def info_provided(*, task, user) -> bool:
    """Tell the approver ``user`` the requester answered: the task is back with them."""
    if not _wants(user, "assignment"):
        return False
    _send_after_commit(
        to=user.email,
        subject=f"[Flowgate] Answered: {task.name}",
        body=(
            f"Hello {user.get_username()},\n\nThe requester of #{task.instance_id} answered "
            f"your question on '{task.name}'; the task is back in your inbox.\n\n"
            f"Open it: {task_link(task)}\n"
        ),
    )
    return True
