"""Login, logout and failed-login events.

The one place where the audit trail listens to signals: django.contrib.auth owns the login code
path and offers only signals as its hook. The receivers only call ``record()``; no other logic.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from apps.audit.actions import AuditAction
from apps.audit.services import record
from apps.common.actors import Actor


@receiver(user_logged_in, dispatch_uid="audit.login")
def on_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    record(AuditAction.LOGIN, actor=Actor.for_user(user))


@receiver(user_logged_out, dispatch_uid="audit.logout")
def on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    record(AuditAction.LOGOUT, actor=Actor.for_user(user))


@receiver(user_login_failed, dispatch_uid="audit.login_failed")
def on_login_failed(sender: Any, credentials: dict, request: Any = None, **kwargs: Any) -> None:
    # Only the user name: the password (already masked by Django) never reaches the trail.
    username = str(credentials.get("username", ""))[:150]
    record(AuditAction.LOGIN_FAILED, actor=Actor.anonymous(), data={"username": username})
