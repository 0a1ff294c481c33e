"""Who may see a process: designers and admins edit and deploy every process; anyone else sees
a process only when a designer or admin granted them (or one of their roles) view access, and
then only read-only. The object permission lives in django-guardian, reached only through
``apps.accounts.permissions``.

Reads (``can_*``, ``definitions_visible``, ``process_viewers``) and the two writes
(``process_view_grant``, ``process_view_revoke``, each with its audit event) live together: they
are one small concern.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import QuerySet

from apps.accounts import permissions
from apps.accounts.roles import ALL_ROLES, PERM_VIEW_PROCESS, Role
from apps.audit.actions import AuditAction
from apps.audit.services import record
from apps.common.actors import Actor
from apps.common.errors import AccessDenied, InvalidInput
from apps.processes.models import ProcessDefinition

EDITORS = (Role.DESIGNER, Role.ADMIN)


def can_edit(user: Any) -> bool:
    """Edit, deploy, roll back, test-run and share: designers and admins (every process)."""
    return permissions.has_role(user, *EDITORS)


def can_view(user: Any, definition: ProcessDefinition) -> bool:
    """Read-only view of one process: editors, or a user granted view access (directly or
    through one of their roles)."""
    return can_edit(user) or permissions.can(user, PERM_VIEW_PROCESS, definition)


def definitions_visible(user: Any, queryset: QuerySet[ProcessDefinition]) -> QuerySet:
    """The part of ``queryset`` the user may view (all of it for editors)."""
    if can_edit(user):
        return queryset
    return permissions.filter_visible(user, PERM_VIEW_PROCESS, queryset)


@dataclass(frozen=True)
class Viewers:
    users: list[str]
    roles: list[str]


def process_viewers(*, definition: ProcessDefinition) -> Viewers:
    users, roles = permissions.holders(PERM_VIEW_PROCESS, obj=definition)
    return Viewers(users=users, roles=roles)


def _target(*, username: str, role: str) -> tuple[Any, str]:
    """(user or None, role name or "") from the form/API input; exactly one of them."""
    username, role = (username or "").strip(), (role or "").strip()
    if bool(username) == bool(role):
        raise InvalidInput("Name either a user or a role (not both).", code="user_or_role")
    if username:
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise InvalidInput(f"There is no active user '{username}'.", code="unknown_user")
        return user, ""
    known = {r.value for r in ALL_ROLES} | set(Group.objects.values_list("name", flat=True))
    if role not in known:
        raise InvalidInput(f"There is no role '{role}'.", code="unknown_role")
    return None, role


def _change(
    action: AuditAction, *, definition: ProcessDefinition, actor: Actor, by: Any, user, role: str
) -> Viewers:
    if not can_edit(by):
        raise AccessDenied("Only designers and admins share processes.")
    target, role = _target(username=user, role=role)
    with transaction.atomic():
        if action is AuditAction.PROCESS_VIEW_GRANTED:
            permissions.grant(PERM_VIEW_PROCESS, obj=definition, user=target, role=role or None)
        else:
            permissions.revoke(PERM_VIEW_PROCESS, obj=definition, user=target, role=role or None)
        record(
            action,
            actor=actor,
            process_key=definition.key,
            data={"user": target.username if target else None, "role": role or None},
        )
    return process_viewers(definition=definition)


def process_view_grant(
    *, definition: ProcessDefinition, actor: Actor, by: Any, user: str = "", role: str = ""
) -> Viewers:
    """Let one user, or everyone in one role, view ``definition`` read-only. ``by`` is the
    person asking (a designer or admin, else AccessDenied and nothing changes)."""
    return _change(
        AuditAction.PROCESS_VIEW_GRANTED,
        definition=definition,
        actor=actor,
        by=by,
        user=user,
        role=role,
    )


def process_view_revoke(
    *, definition: ProcessDefinition, actor: Actor, by: Any, user: str = "", role: str = ""
) -> Viewers:
    """Take view access back (same rules as ``process_view_grant``)."""
    return _change(
        AuditAction.PROCESS_VIEW_REVOKED,
        definition=definition,
        actor=actor,
        by=by,
        user=user,
        role=role,
    )
