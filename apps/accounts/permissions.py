"""The only module that talks to django-guardian. Everyone else asks here."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import BooleanField, Exists, Model, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
from guardian.models import GroupObjectPermission, UserObjectPermission
from guardian.shortcuts import (
    assign_perm,
    get_groups_with_perms,
    get_objects_for_user,
    get_users_with_perms,
    remove_perm,
)

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


def grant_many(
    grants: Iterable[tuple[str, Model]], *, user: User | None = None, role: str | None = None
) -> None:
    """Several object permissions ("app.codename", object) to one user or role at once: one
    lookup of the permissions, one INSERT; grants that exist already are kept (what ``grant``
    does one by one, in about eight queries each)."""
    pairs = [(perm.split(".", 1), obj) for perm, obj in grants]
    if not pairs or (user is None and role is None):
        return
    types = {obj: ContentType.objects.get_for_model(obj) for _, obj in pairs}  # cached
    if user is None and role is not None:
        for (app_label, _codename), obj in pairs:
            if types[obj].app_label != app_label:
                raise ValueError(f"No permission {app_label}.{_codename} for {types[obj].model}.")
        role_grants = [(types[obj].pk, codename, str(obj.pk)) for (_, codename), obj in pairs]
        if _grant_role_at_once(role, role_grants):
            return
    wanted = Q()
    for (_, codename), obj in pairs:
        wanted |= Q(content_type=types[obj], codename=codename)
    found = {
        (p.content_type_id, p.codename): p.pk
        for p in Permission.objects.filter(wanted).only("id", "content_type_id", "codename")
    }
    rows = []
    for (app_label, codename), obj in pairs:
        content_type = types[obj]
        permission_id = found.get((content_type.pk, codename))
        if permission_id is None or content_type.app_label != app_label:
            raise ValueError(f"No permission {app_label}.{codename} for {content_type.model}.")
        rows.append((permission_id, content_type.pk, str(obj.pk)))
    if user is not None:
        UserObjectPermission.objects.bulk_create(
            [
                UserObjectPermission(user=user, permission_id=p, content_type_id=ct, object_pk=pk)
                for p, ct, pk in rows
            ],
            ignore_conflicts=True,
        )
    if role is not None:
        group, _ = Group.objects.get_or_create(name=role)
        GroupObjectPermission.objects.bulk_create(
            [
                GroupObjectPermission(
                    group=group, permission_id=p, content_type_id=ct, object_pk=pk
                )
                for p, ct, pk in rows
            ],
            ignore_conflicts=True,
        )


def _grant_role_at_once(role: str, grants: list[tuple[int, str, str]]) -> bool:
    """Insert a role's grants ((content type id, codename, object pk)) in one statement that
    finds the group and the permissions itself (``grant_many`` otherwise needs three: the
    permissions, the group, the insert). True when every grant was inserted; False (nothing to
    undo, the caller takes the long way) when the group is missing, a permission is unknown or
    some grant existed already."""
    table, permissions, groups = (
        connection.ops.quote_name(model._meta.db_table)
        for model in (GroupObjectPermission, Permission, Group)
    )
    values = ", ".join(["(CAST(%s AS INTEGER), %s, %s)"] * len(grants))
    sql = (
        f"INSERT INTO {table} (permission_id, group_id, content_type_id, object_pk) "  # noqa: S608
        "SELECT p.id, g.id, p.content_type_id, v.column3 "
        f"FROM (VALUES {values}) v "
        f"INNER JOIN {permissions} p ON p.content_type_id = v.column1 AND p.codename = v.column2 "
        f"INNER JOIN {groups} g ON g.name = %s "
        "WHERE 1 = 1 ON CONFLICT DO NOTHING"
    )
    params = [value for grant in grants for value in grant] + [role]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount == len(grants)


def revoke(perm: str, *, obj: Model, user: User | None = None, role: str | None = None) -> None:
    if user is not None:
        remove_perm(perm, user, obj)
    if role is not None:
        group = Group.objects.filter(name=role).first()
        if group is not None:
            remove_perm(perm, group, obj)


def forget_objects(model: type[Model], pks: Iterable[Any]) -> int:
    """Remove every object permission on the rows ``pks`` of ``model`` (rows about to be purged:
    guardian's generic rows have no foreign key that would cascade). Returns the rows removed.

    One plain DELETE per grant table (no signals listen to guardian's rows; Django's collector
    would only add work), the keys as one array parameter on PostgreSQL."""
    keys = [str(pk) for pk in pks]
    if not keys:
        return 0
    content_type = ContentType.objects.get_for_model(model)
    removed = 0
    with connection.cursor() as cursor:
        for table in (UserObjectPermission, GroupObjectPermission):
            name = connection.ops.quote_name(table._meta.db_table)
            params: list[Any]
            if connection.vendor == "postgresql":
                where, params = "object_pk = ANY(%s)", [keys]
            else:  # SQLite: placeholders (a purge batch stays under its limit)
                where, params = f"object_pk IN ({', '.join(['%s'] * len(keys))})", keys
            cursor.execute(
                f"DELETE FROM {name} WHERE content_type_id = %s AND {where}",  # noqa: S608
                [content_type.pk, *params],
            )
            removed += cursor.rowcount
    return removed


def holders(perm: str, *, obj: Model) -> tuple[list[str], list[str]]:
    """(usernames, role names) holding ``perm`` on ``obj`` directly (not through a role for the
    users), sorted: who an object was shared with."""
    codename = perm.split(".", 1)[1]
    users: QuerySet = get_users_with_perms(  # type: ignore[assignment]
        obj, only_with_perms_in=[codename], with_group_users=False, with_superusers=False
    )
    groups: dict[Group, list[str]] = get_groups_with_perms(obj, attach_perms=True)  # type: ignore[assignment]
    roles = [group.name for group, perms in groups.items() if codename in perms]
    return sorted(users.values_list("username", flat=True)), sorted(roles)


def can(user: Any, perm: str, obj: Model) -> bool:
    """Object permission check; admins may do everything. Global perms do not count.

    What django-guardian's ``user.has_perm(perm, obj)`` answers (an active user's grant on the
    object, directly or through a role), in one query instead of its two (the user's grants,
    then their roles'): it runs on every task action and page."""
    if not (user and user.is_authenticated):
        return False
    if user.has_role(Role.ADMIN):
        return True
    if not user.is_active:
        return False
    if user.is_superuser:
        return True
    app_label, codename = perm.split(".", 1)
    content_type = ContentType.objects.get_for_model(obj)  # cached
    if content_type.app_label != app_label:
        return False
    grants = {"permission": OuterRef("pk"), "content_type": content_type, "object_pk": str(obj.pk)}
    direct = UserObjectPermission.objects.filter(user_id=user.pk, **grants)
    via_role = GroupObjectPermission.objects.filter(group__user=user.pk, **grants)
    return (
        Permission.objects.filter(content_type=content_type, codename=codename)
        .filter(Exists(direct) | Exists(via_role))
        .exists()
    )


def filter_visible(user: Any, perm: str, queryset: QuerySet) -> QuerySet:
    """Objects of ``queryset`` on which ``user`` holds ``perm`` (directly or via a role)."""
    if not (user and user.is_authenticated):
        return queryset.none()
    if user.has_role(Role.ADMIN):
        return queryset
    return get_objects_for_user(user, perm, klass=queryset, accept_global_perms=False)


FEW_GRANTS = 5000


def _grants_at_most(group_ids, user_id, content_type_id, permission_id, limit: int) -> bool:
    """Whether the user (directly or through ``group_ids``) holds at most ``limit`` grants of
    this permission: one bounded index scan per table."""
    by_group = (
        GroupObjectPermission.objects.filter(
            group_id__in=group_ids, content_type_id=content_type_id, permission_id=permission_id
        )
        .values("pk")[: limit + 1]
        .count()
        if group_ids
        else 0
    )
    if by_group > limit:
        return False
    by_user = (
        UserObjectPermission.objects.filter(
            user_id=user_id, content_type_id=content_type_id, permission_id=permission_id
        )
        .values("pk")[: limit + 1]
        .count()
    )
    return by_group + by_user <= limit


def filter_visible_exists(user: Any, perm: str, queryset: QuerySet) -> QuerySet:
    """Like ``filter_visible``, shaped for "newest N" lists over large tables.

    guardian's ``get_objects_for_user`` answers ``pk IN (all granted object ids)``, which the
    database must collect in full before it can return the first row. Here each candidate row
    is checked by one correlated ``EXISTS`` over guardian's group and user grants (a UNION ALL,
    so PostgreSQL cannot turn it into a hash of every grant) that probes guardian's
    (group, content_type, object_pk) index: an ordered, limited list stops after about N
    probes. A user with few grants (at most FEW_GRANTS) is served the other way round: their
    granted ids, then the primary key index (walking a big table for rare hits would be slow).
    Object primary keys must be integers. Same rules: object permissions of the user or of one
    of their groups; global permissions do not count; admins see everything.

    Many grants: the permission id, the user's groups and "does the user hold grants of their
    own" are sub-selects of the same query (PostgreSQL computes each once per query), not a
    round trip before it: read in the query's own snapshot, so a role taken away or a task just
    assigned counts at once. The user-grant branch only runs for users who hold user grants (a
    probe of a small table per candidate row costs more than the rest of the walk). Few grants:
    one setup query first (``_scope``), fresh too; that plan needs the group ids as values.
    """
    if not (user and user.is_authenticated):
        return queryset.none()
    if user.has_role(Role.ADMIN):
        return queryset
    app_label, codename = perm.split(".", 1)
    content_type = ContentType.objects.get_for_model(queryset.model)  # cached by Django
    if content_type.app_label != app_label:
        return queryset.none()
    ct = content_type.pk
    qn = connection.ops.quote_name
    meta = queryset.model._meta
    group_table = qn(GroupObjectPermission._meta.db_table)
    user_table = qn(UserObjectPermission._meta.db_table)
    member_table = qn(User.groups.through._meta.db_table)
    perm_table = qn(Permission._meta.db_table)
    permission = (
        f"(SELECT p.id FROM {perm_table} p WHERE p.content_type_id = %s AND p.codename = %s)"  # noqa: S608
    )
    if connection.vendor == "postgresql":
        # ANY(ARRAY(...)): the user's groups once per query (an InitPlan), then an index probe
        my_groups = f"= ANY(ARRAY(SELECT m.group_id FROM {member_table} m WHERE m.user_id = %s))"  # noqa: S608
    else:
        my_groups = f"IN (SELECT m.group_id FROM {member_table} m WHERE m.user_id = %s)"  # noqa: S608
    if _few_grants(user, ct, codename):
        # Few grants: drive from them (a handful of ids, then the primary key index). The group
        # ids go in as values: with a sub-select in their place PostgreSQL cannot tell how
        # many grants it will read and scans the permission's index instead (250 ms here).
        scope = _scope(user, ct, codename)
        if scope is None:
            return queryset.none()
        permission_id, group_ids = scope
        branches = [
            f"SELECT CAST(u.object_pk AS integer) FROM {user_table} u "  # noqa: S608
            "WHERE u.user_id = %s AND u.content_type_id = %s AND u.permission_id = %s"
        ]
        params: list = [user.pk, ct, permission_id]
        if group_ids:
            in_groups = ", ".join(["%s"] * len(group_ids))
            branches.append(
                f"SELECT CAST(g.object_pk AS integer) FROM {group_table} g "  # noqa: S608
                f"WHERE g.group_id IN ({in_groups}) AND g.content_type_id = %s "
                "AND g.permission_id = %s"
            )
            params += [*group_ids, ct, permission_id]
        sql = f"{qn(meta.db_table)}.{qn(meta.pk.column)} IN ({' UNION ALL '.join(branches)})"
        granted = RawSQL(sql, params, output_field=BooleanField())  # noqa: S611 - quoted names
        return queryset.filter(granted)
    object_pk = f"CAST({qn(meta.db_table)}.{qn(meta.pk.column)} AS varchar(255))"
    has_user_grants = (
        f"EXISTS (SELECT 1 FROM {user_table} h WHERE h.user_id = %s "  # noqa: S608
        f"AND h.content_type_id = %s AND h.permission_id = {permission})"
    )
    sql = (
        f"EXISTS (SELECT 1 FROM {group_table} g "  # noqa: S608 - quoted names, parameters
        f"WHERE g.group_id {my_groups} AND g.content_type_id = %s "
        f"AND g.object_pk = {object_pk} AND g.permission_id = {permission} "
        f"UNION ALL SELECT 1 FROM {user_table} u WHERE {has_user_grants} "
        f"AND u.user_id = %s AND u.content_type_id = %s AND u.object_pk = {object_pk} "
        f"AND u.permission_id = {permission})"
    )
    params = [user.pk, ct, ct, codename]
    params += [user.pk, ct, ct, codename, user.pk, ct, ct, codename]
    granted = RawSQL(sql, params, output_field=BooleanField())  # noqa: S611 - quoted names
    return queryset.filter(granted)


def _scope(user: Any, content_type_id: int, codename: str) -> tuple[int, list[int]] | None:
    """(permission id, the user's group ids) in one round trip, read fresh every time: a role
    taken away counts at once. None when the permission does not exist."""
    if connection.vendor != "postgresql":
        permission_id = (
            Permission.objects.filter(content_type_id=content_type_id, codename=codename)
            .values_list("pk", flat=True)
            .first()
        )
        if permission_id is None:
            return None
        return permission_id, sorted(user.groups.values_list("pk", flat=True))
    perm_table = connection.ops.quote_name(Permission._meta.db_table)
    member_table = connection.ops.quote_name(User.groups.through._meta.db_table)
    sql = (
        f"SELECT (SELECT id FROM {perm_table} "  # noqa: S608 - quoted names, parameters
        "WHERE content_type_id = %s AND codename = %s), "
        f"ARRAY(SELECT m.group_id FROM {member_table} m WHERE m.user_id = %s ORDER BY 1)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [content_type_id, codename, user.pk])
        permission_id, group_ids = cursor.fetchone()
    if permission_id is None:
        return None
    return permission_id, [int(g) for g in group_ids or []]


FEW_GRANTS_TTL = 300.0
_few_grants_seen: dict[tuple, tuple[float, bool]] = {}


def _few_grants(user: Any, content_type_id: int, codename: str) -> bool:
    """Whether to drive the query from the user's grants (at most FEW_GRANTS of them). Only the
    query's shape depends on it — both shapes answer the same rows — so the answer is kept in
    this process for a few minutes (no round trip to a cache server on the list's path):
    counting up to 5,000 grants cost more than the list itself."""
    key = (FEW_GRANTS, content_type_id, codename, user.pk)
    now = time.monotonic()
    seen = _few_grants_seen.get(key)
    if seen is not None and seen[0] > now:
        return seen[1]
    scope = _scope(user, content_type_id, codename)
    few = scope is None or _grants_at_most(scope[1], user.pk, content_type_id, scope[0], FEW_GRANTS)
    if len(_few_grants_seen) > 10_000:  # many users in one process: start again
        _few_grants_seen.clear()
    _few_grants_seen[key] = (now + FEW_GRANTS_TTL, few)
    return few
