"""The operators' facade: writes beyond the everyday actions of ``apps.engine.services`` (bulk
incident retry, set a variable, move a token, cancel with compensation, move instances to
another version). The work is in ``runtime/repairs.py``, ``runtime/compensation.py`` and
``runtime/migration*.py``; this module checks who acts first, so every entry point (API, page,
command, a future one) goes through the same check:

- a person (a user, or an API token acting for its user) must be an operator: for one
  instance ``selectors.can_operate`` (an admin or manager, or someone given that instance), for
  several instances an admin or manager, for a variable an admin; else ``AccessDenied`` (403);
- a system component (the migration runner, a management command, a test) is trusted;
- nobody (anonymous) may do anything here.

The API and page views keep their own role gates in front (their 403 answers and the order of
their checks stay as they were); this is the floor under all of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from apps.accounts import permissions
from apps.accounts.models import ApiToken, User
from apps.accounts.roles import Role
from apps.common.actors import Actor
from apps.common.errors import AccessDenied
from apps.engine import selectors
from apps.engine.models import MigrationRun, ProcessInstance
from apps.engine.runtime import compensation, migration, migration_runs, repairs
from apps.engine.runtime.compensation import CompensatingCancel
from apps.engine.runtime.migration import MAX_BATCH, migration_elements, target_version
from apps.engine.runtime.migration_runs import (
    migration_run_execute,
    migration_run_get,
    migration_runs_sweep,
)
from apps.engine.runtime.repairs import (
    MoveOptions,
    archived_task_id,
    archived_task_id_sql,
    instance_move_options,
)

#: Who operates instances: the role gate of the operator pages and APIs, and this module's rule
#: for actions on several instances at once.
OPERATOR_ROLES = (Role.ADMIN, Role.MANAGER)

__all__ = [
    "MAX_BATCH",
    "OPERATOR_ROLES",
    "MoveOptions",
    "archived_task_id",
    "archived_task_id_sql",
    "incidents_retry",
    "instance_cancel_with_compensation",
    "instance_migrate",
    "instance_move_options",
    "instance_operator_check",
    "instance_token_move",
    "instance_variable_set",
    "instances_migrate",
    "migration_elements",
    "migration_run_execute",
    "migration_run_get",
    "migration_run_start",
    "migration_runs_sweep",
    "target_version",
]


# --- who acts ------------------------------------------------------------------------------------


def _person(actor: Actor) -> User | None:
    """The active user behind a person's actor (a token acts for its user), else None."""
    if actor.kind == "user":
        return User.objects.filter(pk=actor.id, is_active=True).first()
    if actor.kind == "token":
        token = ApiToken.objects.select_related("user").filter(pk=actor.id).first()
        return token.user if token is not None and token.user.is_active else None
    return None


def instance_operator_check(*, user: Any, instance: ProcessInstance, doing: str) -> None:
    """403 unless ``user`` may operate ``instance`` (``selectors.can_operate``); ``doing`` words
    the refusal ("cancel this instance")."""
    if not selectors.can_operate(user=user, instance=instance):
        raise AccessDenied(f"You may not {doing} (managers and admins can).")


def _require_instance_operator(actor: Actor, instance_id: int, doing: str) -> None:
    if actor.kind == "system":
        return
    instance = ProcessInstance.objects.filter(pk=instance_id).first()
    if instance is None:
        return  # the action itself answers 404, as it did
    user = _person(actor)
    if user is None:
        raise AccessDenied(f"You may not {doing} (managers and admins can).")
    instance_operator_check(user=user, instance=instance, doing=doing)


def _require_role(actor: Actor, roles: tuple[str, ...], doing: str, who: str) -> None:
    if actor.kind == "system":
        return
    user = _person(actor)
    if user is None or not permissions.has_role(user, *roles):
        raise AccessDenied(f"You may not {doing} ({who} can).")


# --- the actions ---------------------------------------------------------------------------------


def incidents_retry(*, incident_ids: Iterable[int], actor: Actor) -> dict[str, Any]:
    _require_role(actor, OPERATOR_ROLES, "retry incidents", "managers and admins")
    return repairs.incidents_retry(incident_ids=incident_ids, actor=actor)


def instance_variable_set(
    *, instance_id: int, name: str, value: Any, actor: Actor
) -> ProcessInstance:
    _require_role(actor, (Role.ADMIN,), "set variables", "admins")
    return repairs.instance_variable_set(
        instance_id=instance_id, name=name, value=value, actor=actor
    )


def instance_token_move(
    *,
    instance_id: int,
    from_activity_id: str,
    to_activity_id: str,
    reason: str,
    actor: Actor,
    dry_run: bool = False,
) -> dict[str, Any]:
    _require_instance_operator(actor, instance_id, "move a token of this instance")
    return repairs.instance_token_move(
        instance_id=instance_id,
        from_activity_id=from_activity_id,
        to_activity_id=to_activity_id,
        reason=reason,
        actor=actor,
        dry_run=dry_run,
    )


def instance_cancel_with_compensation(
    *, instance_id: int, actor: Actor, reason: str = ""
) -> CompensatingCancel:
    _require_instance_operator(actor, instance_id, "cancel this instance")
    return compensation.instance_cancel_with_compensation(
        instance_id=instance_id, actor=actor, reason=reason
    )


def instance_migrate(
    *,
    instance_id: int,
    to_version: int,
    mapping: Any = None,
    dry_run: bool = False,
    actor: Actor,
) -> dict[str, Any]:
    _require_instance_operator(actor, instance_id, "migrate this instance")
    return migration.instance_migrate(
        instance_id=instance_id,
        to_version=to_version,
        mapping=mapping,
        dry_run=dry_run,
        actor=actor,
    )


def instances_migrate(
    *,
    process_key: str,
    from_version: int,
    to_version: int,
    instance_ids: Iterable[int] | None = None,
    mapping: Any = None,
    dry_run: bool = False,
    actor: Actor,
) -> dict[str, Any]:
    _require_role(actor, OPERATOR_ROLES, "migrate instances", "managers and admins")
    return migration.instances_migrate(
        process_key=process_key,
        from_version=from_version,
        to_version=to_version,
        instance_ids=instance_ids,
        mapping=mapping,
        dry_run=dry_run,
        actor=actor,
    )


def migration_run_start(
    *,
    process_key: str,
    from_version: int,
    to_version: int,
    instance_ids: Iterable[int] | None = None,
    mapping: Any = None,
    user: Any = None,
) -> MigrationRun:
    """Queue a batch migration; ``user`` None is a system component's run."""
    actor = Actor.system("migration") if user is None else Actor.for_user(user)
    _require_role(actor, OPERATOR_ROLES, "migrate instances", "managers and admins")
    return migration_runs.migration_run_start(
        process_key=process_key,
        from_version=from_version,
        to_version=to_version,
        instance_ids=instance_ids,
        mapping=mapping,
        user=user,
    )
