"""The one way the HTTP connector refuses: a permanent error, so the step does not retry."""

from __future__ import annotations

from apps.connectors.base import ConnectorError


def refuse(message: str) -> ConnectorError:
    return ConnectorError(message, permanent=True)
