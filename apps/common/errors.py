"""Error types every layer understands.

Services raise these; the API exception handler and the page views turn them into a specific 4xx
with a message a person can act on. ``code`` is a stable machine-readable string.
"""

from __future__ import annotations

from typing import Any


class FlowgateError(Exception):
    status = 400
    code = "error"

    def __init__(self, message: str, *, code: str | None = None, details: list[Any] | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details or []


class InvalidInput(FlowgateError):
    status = 400
    code = "invalid"


class NotFound(FlowgateError):
    status = 404
    code = "not_found"


class AccessDenied(FlowgateError):
    status = 403
    code = "forbidden"


class Conflict(FlowgateError):
    """The request clashes with the current state (task already completed, instance not running)."""

    status = 409
    code = "conflict"


class Unprocessable(FlowgateError):
    """Syntactically fine but semantically invalid (a BPMN file with modelling problems)."""

    status = 422
    code = "unprocessable"
