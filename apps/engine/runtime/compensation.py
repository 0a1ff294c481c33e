"""Compensation in the runtime (decision 034): the operator's cancel with compensation (the
write path, ``state``, writes the compensation's audit events). The compensation itself runs in
the core (``core.compensation``); its handlers are the instance's ordinary jobs and user tasks, so
retries, incidents and the inbox need nothing here."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from apps.audit.actions import AuditAction
from apps.audit.services import record
from apps.common.actors import Actor
from apps.common.errors import Conflict, Unprocessable
from apps.engine import core
from apps.engine.core.compensation import CANCEL_UNDO_ID
from apps.engine.models import InstanceStatus, ProcessInstance
from apps.engine.runtime.instances import instance_cancel
from apps.engine.runtime.state import instance_lock, load, persist_advance

RESUMED_TO_COMPENSATE = "resumed to run the compensation handlers of a cancel with compensation"


@dataclass(frozen=True)
class CompensatingCancel:
    """What a cancel with compensation did. ``undoing``: the names of the completed activations
    whose handlers now run, newest first (empty: nothing to undo, the instance is cancelled);
    ``resumed``: the instance was suspended and runs again so that its handlers can."""

    instance: ProcessInstance
    undoing: tuple[str, ...] = ()
    resumed: bool = False

    def summary(self) -> str:
        """What happened, in a sentence for the person who asked."""
        if not self.undoing:
            return "The instance is cancelled: it had no completed work to undo."
        steps = ", ".join(self.undoing)
        text = (
            f"Undoing {len(self.undoing)} completed step{'s' if len(self.undoing) > 1 else ''} "
            f"(newest first: {steps}); the instance ends cancelled when the last compensation "
            "step is done."
        )
        if self.resumed:
            text = "The suspended instance runs again to undo its work. " + text
        return text


def instance_cancel_with_compensation(
    *, instance_id: int, actor: Actor, reason: str = ""
) -> CompensatingCancel:
    """Interrupt a running or suspended instance and undo its completed compensable work, newest
    first; the instance ends cancelled when the last handler finishes (handlers that are user
    tasks wait in the inbox). A suspended instance with work to undo is resumed first (audited:
    the handlers are steps and a suspended instance runs none). A process without compensation,
    or without completed compensable work, is cancelled at once. Opens its own transaction."""
    outcome = _start_cancel_step(instance_id=instance_id, actor=actor, reason=reason)
    if outcome is None:
        return CompensatingCancel(
            instance=instance_cancel(instance_id=instance_id, actor=actor, reason=reason)
        )
    return outcome


def _start_cancel_step(*, instance_id: int, actor: Actor, reason: str) -> CompensatingCancel | None:
    with transaction.atomic():
        instance = instance_lock(instance_id=instance_id)
        if not instance.is_active:
            raise Conflict(
                f"Instance {instance.pk} is {instance.status}; only a running or suspended "
                "instance can be cancelled with compensation.",
                code="instance_not_running",
            )
        handle = load(instance)
        try:
            started = handle.cancel_with_compensation()
            effects = handle.effects() if started else None
        except core.TaskStateError as exc:
            message = str(exc)
            if instance.status == InstanceStatus.SUSPENDED:
                message += " It is suspended: resume it to let its compensation finish."
            raise Conflict(message, code="compensation_under_way") from None
        except (core.ExpressionError, core.WorkflowRuntimeError) as exc:
            raise Unprocessable(
                f"The compensation could not start: {exc}", code="process_stuck"
            ) from None
        if effects is None:
            return None
        undoing = tuple(
            activation.get("name") or activation["activity_id"]
            for event in effects.compensation
            if event.kind == "started" and event.data["throw"] == CANCEL_UNDO_ID
            for activation in event.data["activations"]
        )
        resumed = instance.status == InstanceStatus.SUSPENDED and effects.status != "cancelled"
        if resumed:
            instance.transition_to(InstanceStatus.RUNNING)
            instance.save(update_fields=["status", "updated_at"])
            record(
                AuditAction.INSTANCE_RESUMED,
                instance=instance,
                actor=actor,
                before={"status": InstanceStatus.SUSPENDED},
                after={"status": InstanceStatus.RUNNING},
                data={"reason": RESUMED_TO_COMPENSATE},
            )
        event = (
            AuditAction.STEP_COMPLETED,
            {"data": {"cancel_with_compensation": True, **({"reason": reason} if reason else {})}},
        )
        persist_advance(instance, handle, actor=actor, event=event)
    return CompensatingCancel(instance=instance, undoing=undoing, resumed=resumed)
