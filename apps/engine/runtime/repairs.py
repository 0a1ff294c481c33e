"""Operator writes on running instances, beyond the facade's cancel/suspend/resume/retry:
bulk incident retry, set a variable (admins), move a token back to an earlier step.

Each function is one transaction per instance: lock the row, act, persist the new engine state
and its effects, write the audit event. Permissions are checked by the views and API views that
call these (variable_set: admins only).

Other apps reach these through ``apps.engine.operator_services`` (the operators' facade).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from django.db import transaction

from apps.audit.actions import AuditAction
from apps.audit.services import record
from apps.common.actors import Actor
from apps.common.errors import Conflict, FlowgateError, InvalidInput
from apps.engine.core import instance_edits
from apps.engine.core.errors import EngineError
from apps.engine.models import InstanceStatus, Job, JobStatus, ProcessInstance
from apps.engine.runtime.hooks import step_reactivated
from apps.engine.runtime.incidents import incident_retry
from apps.engine.runtime.state import instance_lock, load, persist_advance

VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
MAX_VALUE_BYTES = 64 * 1024


def archived_task_id(task_id: str, row_id: int) -> str:
    """The task id an older activation's row takes when the same step runs again."""
    return f"{task_id}~{row_id}"[:64]


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


# --- moving a token back -------------------------------------------------------------------------


def instance_move_targets(*, instance: ProcessInstance) -> list[instance_edits.MoveTarget]:
    """The earlier steps a token of this instance can move back to (none when not running)."""
    if instance.status != InstanceStatus.RUNNING:
        return []
    return instance_edits.move_targets(load(instance))


def instance_token_move(*, instance_id: int, activity_id: str, actor: Actor) -> ProcessInstance:
    """Move the instance back to the latest completed activation of ``activity_id``: later steps
    are discarded (their open tasks cancelled, their pending jobs cancelled) and the step runs
    again. Refused while a step's connector is running (its result would land on a moved
    instance) and for anything SpiffWorkflow cannot reset (subprocess steps, events)."""
    with transaction.atomic():
        instance = instance_lock(instance_id=instance_id)
        if instance.status != InstanceStatus.RUNNING:
            raise Conflict(
                f"Instance {instance.pk} is {instance.status}; only a running instance can move "
                "a token back (resume it first).",
                code="instance_not_running",
            )
        if Job.objects.filter(instance=instance, status=JobStatus.RUNNING).exists():
            raise Conflict(
                "A step of this instance is running on a worker right now; try again when it "
                "has finished.",
                code="step_running",
            )
        handle = load(instance)
        before = {
            "variables": instance.variables,
            "waiting_at": sorted(
                {t.activity_id for t in handle.effects().user_tasks}
                | {s.activity_id for s in handle.effects().service_tasks}
            ),
        }
        try:
            task_id = instance_edits.token_move_back(handle, activity_id)
        except EngineError as exc:
            raise Conflict(str(exc), code="token_move_refused") from exc
        # The step runs again under its old engine task id: move the old rows aside.
        for job in Job.objects.filter(instance=instance, task_id=task_id):
            Job.objects.filter(pk=job.pk).update(task_id=archived_task_id(task_id, job.pk))
        step_reactivated.send(instance_id=instance.pk, task_id=task_id)
        persist_advance(
            instance,
            handle,
            actor=actor,
            event=(
                AuditAction.INSTANCE_TOKEN_MOVED,
                {
                    "before": before,
                    "after": {"waiting_at": [activity_id]},
                    "data": {"to_activity_id": activity_id},
                },
            ),
        )
    return instance
