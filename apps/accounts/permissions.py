"""The only module that talks to django-guardian. Everyone else asks here."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db.models import CharField, Exists, Model, OuterRef, QuerySet
from django.db.models.functions import Cast
from guardian.models import GroupObjectPermission, UserObjectPermission
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


def filter_visible_exists(user: Any, perm: str, queryset: QuerySet) -> QuerySet:
    """Like ``filter_visible``, shaped for "newest N" lists over large tables.

    guardian's ``get_objects_for_user`` answers ``pk IN (all granted object ids)``, which the
    database must collect in full before it can return the first row. Here each candidate row
    is checked with two correlated ``EXISTS`` probes on guardian's (content_type, object_pk)
    index, so an ordered, limited list stops after about N probes. Same rules: object
    permissions of the user or of one of their groups; global permissions do not count;
    admins see everything.
    """
    if not (user and user.is_authenticated):
        return queryset.none()
    if user.has_role(Role.ADMIN):
        return queryset
    app_label, codename = perm.split(".", 1)
    content_type = ContentType.objects.get_for_model(queryset.model)
    permission_id = (
        Permission.objects.filter(content_type=content_type, codename=codename)
        .values_list("pk", flat=True)
        .first()
    )
    if permission_id is None or content_type.app_label != app_label:
        return queryset.none()
    object_pk = Cast(OuterRef("pk"), output_field=CharField())
    by_group = GroupObjectPermission.objects.filter(
        content_type_id=content_type.pk,
        object_pk=object_pk,
        permission_id=permission_id,
        group_id__in=list(user.groups.values_list("pk", flat=True)),
    )
    by_user = UserObjectPermission.objects.filter(
        content_type_id=content_type.pk,
        object_pk=object_pk,
        permission_id=permission_id,
        user_id=user.pk,
    )
    return queryset.filter(Exists(by_group) | Exists(by_user))
