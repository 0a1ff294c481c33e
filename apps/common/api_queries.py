"""API query parameters read through a serializer: typed, documented in the OpenAPI schema
(``extend_schema(parameters=[TheSerializer])``) and refused with one error code."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.common.errors import InvalidInput


def validated_query(serializer: type[serializers.Serializer], params: Any) -> dict[str, Any]:
    """The parameters ``serializer`` declares, checked; anything else in ``params`` is ignored.
    A bad one is a 400 ``invalid_filter`` with each parameter's problem in ``details`` (the first
    in the message)."""
    bound = serializer(data=params)
    if bound.is_valid():
        return dict(bound.validated_data)
    details = [
        {"field": field, "message": str(message), "code": "invalid_filter"}
        for field, messages in bound.errors.items()
        for message in (messages if isinstance(messages, list) else [messages])
    ]
    first = details[0]
    raise InvalidInput(
        f"{first['field']}: {first['message']}", code="invalid_filter", details=details
    )
