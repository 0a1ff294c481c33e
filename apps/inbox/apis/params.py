"""Query parameters shared by the inbox APIs."""

from __future__ import annotations

from rest_framework.request import Request

from apps.common.errors import InvalidInput


def int_param(request: Request, name: str, default: int = 0) -> int:
    raw = request.query_params.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(f"{name} must be a whole number.", code="invalid_filter") from None
    if value < 0:
        raise InvalidInput(f"{name} must not be negative.", code="invalid_filter")
    return value
