"""What a connector's exception means for its job: one classifier for both run paths (the lease
path in ``jobs`` and the chain in ``chain``).

- a ``BusinessError`` is a **business error**: the engine routes it to a matching BPMN error
  event, or (none matches) opens a ``business_error`` incident;
- a ``ConnectorError`` fails the attempt, **permanent** when the connector says so;
- an unknown connector is **permanent** (retrying does not install it);
- the worker's soft time limit (``SoftTimeLimitExceeded``, settings.FLOWGATE_TASK_SOFT_TIME_LIMIT, apps/common/task_limits.py)
  is **retryable**, with a message that says which limit stopped the step;
- any other exception is **retryable** and keeps its stack for the incident.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from apps.common.errors import NotFound as UnknownConnector
from apps.connectors.base import BusinessError, ConnectorError

STACK_LIMIT = 20


@dataclass(frozen=True)
class ConnectorFailure:
    """One failed connector call, classified. ``error_code`` is set for a business error."""

    message: str
    permanent: bool
    stack: str = ""
    error_code: str | None = None

    @property
    def is_business_error(self) -> bool:
        return self.error_code is not None


def unmatched_business_error(error_code: str, message: str) -> str:
    """The incident's message when no BPMN error event catches a business error."""
    return f"Business error '{error_code}' has no matching error event: {message}"


def classify_connector_error(exc: Exception) -> ConnectorFailure:
    """The failure ``exc`` (raised by a connector or its lookup) stands for."""
    if isinstance(exc, BusinessError):
        return ConnectorFailure(message=exc.message, permanent=True, error_code=exc.error_code)
    if isinstance(exc, ConnectorError):
        return ConnectorFailure(message=exc.message, permanent=exc.permanent)
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
