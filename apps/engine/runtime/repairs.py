"""Operator writes on running instances, beyond the facade's cancel/suspend/resume/retry:
bulk incident retry, set a variable (admins), move a token to any step (forward or back).

Each function is one transaction per instance: lock the row, act, persist the new engine state
and its effects, write the audit event. Permissions are checked by the views and API views that
call these (variable_set: admins only).

Other apps reach these through ``apps.engine.operator_services`` (the operators' facade).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from django.db import transaction
from django.db.models import CharField, F, Value
from django.db.models.functions import Cast, Concat, Left

from apps.audit.actions import AuditAction
from apps.audit.services import record
from apps.common.actors import Actor
from apps.common.errors import Conflict, FlowgateError, InvalidInput, Unprocessable
from apps.engine import core
from apps.engine.core import instance_edits
from apps.engine.core import modification as core_modification
from apps.engine.models import InstanceStatus, Job, JobStatus, ProcessInstance
from apps.engine.runtime.incidents import incident_retry
from apps.engine.runtime.state import instance_lock, load, persist_advance

VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
MAX_VALUE_BYTES = 64 * 1024


def archived_task_id(task_id: str, row_id: int) -> str:
    """The task id an older activation's row takes when the same step runs again."""
    return f"{task_id}~{row_id}"[:64]


def archived_task_id_sql() -> Left:
    """``archived_task_id`` as an SQL expression of a row's own ``task_id`` and ``pk``, so a
    set of rows steps aside in one UPDATE."""
    return Left(Concat(F("task_id"), Value("~"), Cast("pk", CharField())), 64)


# --- incidents -----------------------------------------------------------------------------------


def incidents_retry(*, incident_ids: Iterable[int], actor: Actor) -> dict[str, Any]:
    """Retry several incidents, each in its own transaction (one failure stops no other).
    Returns ``{"retried": [ids], "failed": [{"incident_id", "message"}]}``."""
    retried: list[int] = []
    failed: list[dict[str, Any]] = []
    for incident_id in sorted(set(int(i) for i in incident_ids)):
        try:
            incident_retry(incident_id=incident_id, actor=actor)
        except FlowgateError as exc:
            failed.append({"incident_id": incident_id, "message": exc.message})
        else:
            retried.append(incident_id)
    return {"retried": retried, "failed": failed}


# --- variables -----------------------------------------------------------------------------------


def _check_variable(name: str, value: Any) -> None:
    if not VARIABLE_NAME.match(name or ""):
        raise InvalidInput(
            "A variable name starts with a letter or _ and has only letters, digits and _ "
            "(at most 100).",
            code="invalid_variable",
        )
    if len(json.dumps(value, default=str)) > MAX_VALUE_BYTES:
        raise InvalidInput("The value is larger than 64 KB.", code="invalid_variable")


def _require_active(instance: ProcessInstance, what: str) -> None:
    if instance.status not in (InstanceStatus.RUNNING, InstanceStatus.SUSPENDED):
        raise Conflict(
            f"Instance {instance.pk} is {instance.status}: {what} only while it is running or "
            "suspended.",
            code="instance_not_active",
        )


def instance_variable_set(
    *, instance_id: int, name: str, value: Any, actor: Actor
) -> ProcessInstance:
    """Set (or add) one variable of a running or suspended instance; audited with the value
    before and after. Admins only (checked by the caller)."""
    _check_variable(name, value)
    with transaction.atomic():
        instance = instance_lock(instance_id=instance_id)
        _require_active(instance, "its variables change")
        handle = load(instance)
        existed = name in (instance.variables or {})
        before = (instance.variables or {}).get(name)
        instance_edits.variable_set(handle, name, value)
        instance.state = handle.dump()
        instance.variables = handle.variables()
        instance.save(update_fields=["state", "variables", "updated_at"])
        record(
            AuditAction.INSTANCE_VARIABLE_SET,
            instance=instance,
            actor=actor,
            before={name: before} if existed else {},
            after={name: instance.variables.get(name)},
            data={"variable": name},
        )
    return instance


# --- moving a token (instance modification) -----------------------------------------------------

MAX_REASON = 500
#: Refusals that are about the request (a target the model cannot hold a token at): 400;
#: the others are about the instance's state now (not active there, ended): 409.
TARGET_REFUSALS = frozenset(
    {"unknown_target", "inside_scope", "boundary_event", "start_event", "joining_gateway"}
)


@dataclass(frozen=True)
class MoveOptions:
    """What the console offers: the active elements a token can leave, the steps it can go to."""

    active: list[core_modification.Element]
    targets: list[core_modification.Element]


def instance_move_options(*, instance: ProcessInstance) -> MoveOptions:
    """The active elements and the steps of the model a token of this instance can move
    between (both empty unless it is running or suspended)."""
    if instance.status not in (InstanceStatus.RUNNING, InstanceStatus.SUSPENDED):
        return MoveOptions([], [])
    try:
        handle = load(instance)
    except core.EngineError:  # a state this version cannot load: the page shows no move
        return MoveOptions([], [])
    return MoveOptions(
        core_modification.active_elements(handle), core_modification.move_targets(handle)
    )


def _move_report(
    instance: ProcessInstance, move: core_modification.TokenMove, *, reason: str, dry_run: bool
) -> dict[str, Any]:
    return {
        "instance_id": instance.pk,
        "status": instance.status,
        "dry_run": dry_run,
        "from": move.from_id,
        "to": move.to_id,
        "reason": reason,
        "cancelled": move.cancelled,
        "entered": move.entered,
        "waits_removed": [asdict(w) for w in move.waits_removed],
        "waits_created": [asdict(w) for w in move.waits_created],
        "waiting_before": move.waiting_before,
        "waiting_after": move.waiting_after,
    }


def instance_token_move(
    *,
    instance_id: int,
    from_activity_id: str,
    to_activity_id: str,
    reason: str,
    actor: Actor,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Move the token of the active element ``from_activity_id`` to the step
    ``to_activity_id`` (forward or back) of a running or suspended instance; with ``dry_run``
    only say what would be cancelled and started (the same move on a copy that is not saved).
    The cancelled element's waits (inbox task, job, timer, message subscription) go and the new
    element's are created by the write path. Audited as ``instance.token_moved`` with the
    operator's ``reason`` (required). Refused while a step's connector is running (its result
    would land on a moved instance)."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(
            "Say why the token moves (the reason goes into the audit trail).",
            code="reason_required",
        )
    if len(reason) > MAX_REASON:
        raise InvalidInput(
            f"The reason has at most {MAX_REASON} characters.", code="reason_required"
        )
    with transaction.atomic():
        instance = instance_lock(instance_id=instance_id)
        _require_active(instance, "a token moves")
        if Job.objects.filter(instance=instance, status=JobStatus.RUNNING).exists():
            raise Conflict(
                "A step of this instance is running on a worker right now; try again when it "
                "has finished.",
                code="step_running",
            )
        handle = load(instance)
        try:
            move = core_modification.token_move(handle, from_activity_id, to_activity_id)
        except core_modification.TokenMoveRefused as exc:
            error = InvalidInput if exc.code in TARGET_REFUSALS else Conflict
            raise error(str(exc), code=exc.code) from exc
        except (core.ExpressionError, core.WorkflowRuntimeError) as exc:
            raise Unprocessable(
                f"The token cannot move there with this instance's data: {exc}",
                code="process_stuck",
            ) from None
        report = _move_report(instance, move, reason=reason, dry_run=dry_run)
        if dry_run:
            return report
        persist_advance(
            instance,
            handle,
            actor=actor,
            event=(
                AuditAction.INSTANCE_TOKEN_MOVED,
                {
                    "before": {"waiting_at": move.waiting_before},
                    "after": {"waiting_at": move.waiting_after},
                    "data": {
                        "from_activity_id": move.from_id,
                        "to_activity_id": move.to_id,
                        "reason": reason,
                        "cancelled": move.cancelled,
                        "waits_removed": report["waits_removed"],
                        "waits_created": report["waits_created"],
                    },
                },
            ),
        )
    report["status"] = instance.status
    return report
