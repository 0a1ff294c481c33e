"""The scheduled audit chain verification (beat: ``audit-verify`` and ``audit-verify-full``,
portal/settings.py; decision 039 addendum).

Nothing but an operator ran ``audit_verify`` before, so a chain could go unverified for months
and the ``FlowgateAuditVerifyFailed`` alert had nothing to read. Now the scheduler verifies
from the latest signed checkpoint often (cheap: only the links after it) and the whole chain
less often; an intact whole-chain run signs a checkpoint at the head it reached, so the next
checkpointed run starts there. Every run is bounded (``FLOWGATE_AUDIT_VERIFY_MAX_SECONDS``,
below the worker's soft time limit): a run that does not finish records nothing, so the age
of the last verification grows and ``FlowgateAuditVerifyStale`` fires.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings

from apps.audit.checkpoints import verified_checkpoint_write
from apps.audit.services import verification_run
from apps.audit.verification import VerificationTimedOut
from apps.common.actors import Actor

logger = logging.getLogger(__name__)
SCHEDULER = "scheduled audit_verify"


@dataclass(frozen=True)
class ScheduledVerification:
    full: bool
    intact: bool | None  # None: ran out of time, nothing recorded
    summary: str
    checkpoint_id: int | None = None

    def as_dict(self) -> dict:
        return {
            "full": self.full,
            "intact": self.intact,
            "summary": self.summary,
            "checkpoint_id": self.checkpoint_id,
        }


def verification_scheduled_run(*, full: bool) -> ScheduledVerification:
    """Verify the chain (from the latest checkpoint unless ``full``), record the result as
    ``audit.verified``, and after an intact full run sign a checkpoint at its head. Safe to run
    twice: a second run records a second result and, when full, signs the head it reached (each
    run's own ``audit.verified`` event moves the head on)."""
    try:
        result = verification_run(
            actor=Actor.system(SCHEDULER),
            from_checkpoint=not full,
            max_seconds=settings.FLOWGATE_AUDIT_VERIFY_MAX_SECONDS,
        )
    except VerificationTimedOut as exc:
        logger.warning("%s", exc, extra={"audit_verify_full": full})
        return ScheduledVerification(full=full, intact=None, summary=str(exc))
    if not result.intact:
        logger.error("audit chain verification failed: %s", result.summary())
        return ScheduledVerification(full=full, intact=False, summary=result.summary())
    checkpoint_id = None
    if not result.checked_from and result.head_position:
        checkpoint_id = verified_checkpoint_write(result=result).pk
    return ScheduledVerification(
        full=full, intact=True, summary=result.summary(), checkpoint_id=checkpoint_id
    )
