"""Compensation in the runtime (decision 034): the operator's cancel with compensation (the
write path, ``state``, writes the compensation's audit events). The compensation itself runs in the core (``core.compensation``); its handlers are
the instance's ordinary jobs and user tasks, so retries, incidents and the inbox need nothing
here."""

from __future__ import annotations

from django.db import transaction

from apps.audit.actions import AuditAction
from apps.common.actors import Actor
from apps.common.errors import Conflict, Unprocessable
from apps.engine import core
from apps.engine.models import InstanceStatus, ProcessInstance
from apps.engine.runtime.instances import instance_cancel
from apps.engine.runtime.state import instance_lock, load, persist_advance


def instance_cancel_with_compensation(
    *, instance_id: int, actor: Actor, reason: str = ""
) -> ProcessInstance:
    """Interrupt a running instance and undo its completed compensable work, newest first; the
    instance ends cancelled when the last handler finishes (handlers that are user tasks wait
    in the inbox). A process without compensation is cancelled at once (``instance_cancel``).
    Opens its own transaction."""
    instance = _start_cancel_step(instance_id=instance_id, actor=actor, reason=reason)
    if instance is None:
        return instance_cancel(instance_id=instance_id, actor=actor, reason=reason)
    return instance


def _start_cancel_step(*, instance_id: int, actor: Actor, reason: str) -> ProcessInstance | None:
    with transaction.atomic():
        instance = instance_lock(instance_id=instance_id)
        if instance.status != InstanceStatus.RUNNING:
            raise Conflict(
                f"Instance {instance.pk} is {instance.status}; only a running instance can be "
                "cancelled with compensation.",
                code="instance_not_running",
            )
        handle = load(instance)
        try:
            started = handle.cancel_with_compensation()
        except core.TaskStateError as exc:
            raise Conflict(str(exc), code="compensation_under_way") from None
        except (core.ExpressionError, core.WorkflowRuntimeError) as exc:
            raise Unprocessable(
                f"The compensation could not start: {exc}", code="process_stuck"
            ) from None
        if not started:
            return None
        event = (
            AuditAction.STEP_COMPLETED,
            {"data": {"cancel_with_compensation": True, **({"reason": reason} if reason else {})}},
        )
        persist_advance(instance, handle, actor=actor, event=event)
    return instance
