"""The only module that talks to django-guardian. Everyone else asks here."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group
from django.db.models import Model, QuerySet
from guardian.shortcuts import assign_perm, get_objects_for_user, remove_perm

from apps.accounts.models import User
from apps.accounts.roles import Role


def has_role(user: Any, *roles: str) -> bool:
    return bool(user and user.is_authenticated and user.has_role(*roles))


def grant(perm: str, *, obj: Model, user: User | None = None, role: str | None = None) -> None:
    """Grant an object permission to a user or to everyone in a role (group)."""
    if user is not None:
        assign_perm(perm, user, obj)
    if role is not None:
        group, _ = Group.objects.get_or_create(name=role)
        assign_perm(perm, group, obj)


def revoke(perm: str, *, obj: Model, user: User | None = None, role: str | None = None) -> None:
    if user is not None:
        remove_perm(perm, user, obj)
    if role is not None:
        group = Group.objects.filter(name=role).first()
        if group is not None:
            remove_perm(perm, group, obj)


def can(user: Any, perm: str, obj: Model) -> bool:
    """Object permission check; admins may do everything. Global perms do not count."""
    if not (user and user.is_authenticated):
        return False
    if user.has_role(Role.ADMIN):
        return True
    return bool(user.has_perm(perm, obj))


def filter_visible(user: Any, perm: str, queryset: QuerySet) -> QuerySet:
    """Objects of ``queryset`` on which ``user`` holds ``perm`` (directly or via a role)."""
    if not (user and user.is_authenticated):
        return queryset.none()
    if user.has_role(Role.ADMIN):
        return queryset
    return get_objects_for_user(user, perm, klass=queryset, accept_global_perms=False)
