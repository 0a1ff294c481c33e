"""What a connector's exception means for its job: one classifier for both run paths (the lease
path in ``jobs`` and the chain in ``chain``).

- a ``BusinessError`` is a **business error**: the engine routes it to a matching BPMN error
  event, or (none matches) opens a ``business_error`` incident;
- a ``ConnectorError`` that made no call or was told when to come back (an open circuit, a
  target's concurrency or rate limit, a 429 with ``Retry-After``) is **deferred**: a wait, not a
  failure: no attempt spent, no incident, a ``job.deferred`` audit event (decision 039);
- any other ``ConnectorError`` fails the attempt, **permanent** when the connector says so;
- an unknown connector is **permanent** (retrying does not install it);
- the worker's soft time limit (``SoftTimeLimitExceeded``, settings.FLOWGATE_TASK_SOFT_TIME_LIMIT, apps/common/task_limits.py)
  is **retryable**, with a message that says which limit stopped the step;
- any other exception is **retryable** and keeps its stack for the incident.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from enum import StrEnum

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from apps.common.errors import NotFound as UnknownConnector
from apps.connectors.base import BusinessError, ConnectorError

STACK_LIMIT = 20


class Outcome(StrEnum):
    """What a connector's exception means for its step."""

    DEFERRED = "deferred"  # wait and call again; not a failure
    BUSINESS_ERROR = "business_error"
    PERMANENT = "permanent"
    RETRYABLE = "retryable"


@dataclass(frozen=True)
class ConnectorFailure:
    """One failed connector call, classified. ``error_code`` is set for a business error."""

    message: str
    permanent: bool
    stack: str = ""
    error_code: str | None = None
    #: the next attempt's delay the connector asks for (Retry-After, an open circuit)
    retry_after: float | None = None
    #: False when no call was made (open circuit): no attempt is spent, no incident opens
    spends_attempt: bool = True
    #: why a deferred step waits ("circuit_open", "target_limit", "retry_after")
    defer_reason: str = ""

    @property
    def is_business_error(self) -> bool:
        return self.error_code is not None

    @property
    def outcome(self) -> Outcome:
        if self.error_code is not None:
            return Outcome.BUSINESS_ERROR
        if not self.spends_attempt:
            return Outcome.DEFERRED
        return Outcome.PERMANENT if self.permanent else Outcome.RETRYABLE

    def apply_arguments(self) -> dict:
        """The wait-related arguments of ``job_failure_apply`` (empty for a plain failure)."""
        return {
            "retry_after": self.retry_after,
            "spends_attempt": self.spends_attempt,
            "defer_reason": self.defer_reason,
        }


def unmatched_business_error(error_code: str, message: str) -> str:
    """The incident's message when no BPMN error event catches a business error."""
    return f"Business error '{error_code}' has no matching error event: {message}"


def classify_connector_error(exc: Exception) -> ConnectorFailure:
    """The failure ``exc`` (raised by a connector or its lookup) stands for."""
    if isinstance(exc, BusinessError):
        return ConnectorFailure(message=exc.message, permanent=True, error_code=exc.error_code)
    if isinstance(exc, ConnectorError):
        return ConnectorFailure(
            message=exc.message,
            permanent=exc.permanent,
            retry_after=exc.retry_after,
            spends_attempt=exc.spends_attempt,
            defer_reason=(exc.defer_reason or "deferred") if not exc.spends_attempt else "",
        )
    if isinstance(exc, UnknownConnector):
        return ConnectorFailure(message=exc.message, permanent=True)
    if isinstance(exc, SoftTimeLimitExceeded):
        limit = settings.FLOWGATE_TASK_SOFT_TIME_LIMIT
        return ConnectorFailure(
            message=(
                f"The step ran past the worker's {limit}s time limit (FLOWGATE_TASK_SOFT_TIME_LIMIT) "
                "and was stopped; will retry. Give the connector a shorter timeout."
            ),
            permanent=False,
        )
    stack = "".join(
        traceback.format_exception(type(exc), exc, exc.__traceback__, limit=STACK_LIMIT)
    )
    return ConnectorFailure(message=f"{type(exc).__name__}: {exc}", permanent=False, stack=stack)
