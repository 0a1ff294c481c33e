"""OpenAPI generation for Flowgate's HackSoft-style API views (drf-spectacular AutoSchema).

It reads the conventions of ``apps.common.api.ApiView`` so endpoint authors rarely need
``@extend_schema``:

- request body: the view's nested ``InputSerializer`` (POST/PUT/PATCH);
- response body: the view's nested ``OutputSerializer``; a paginated list for GET when the view
  says ``paginated = True``; no body for DELETE (204); the status per method from
  ``response_status`` (e.g. ``{"POST": 201}``). On a plain DRF ``APIView`` a GET declared with
  ``responses=X(many=True)`` is documented as paginated with the default ``Pagination`` (the
  API-wide convention); an ApiView's ``many=True`` answer without ``paginated`` is a bare array;
- the error shape (component ``Error``) on every operation: 400/401/403/404/429 always and
  409/415/422 on writes, ``Retry-After`` on 429;
- an ``Idempotency-Key`` header on the methods listed in ``idempotent_methods``;
- component names from the view: ``TokenCreateApi.OutputSerializer`` -> ``TokenCreateOutput``
  (``class Meta: ref_name = "..."`` on a serializer wins).

``@extend_schema`` still overrides any of it, per method.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.settings import api_settings

from apps.common.api_errors import ErrorSerializer

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

_ERROR_DESCRIPTIONS = {
    "400": "Invalid input (field errors in `details`), a malformed body or query parameter.",
    "401": "Missing, unknown, revoked or expired credentials.",
    "403": "Authenticated, but not allowed to do this.",
    "404": "Not found, or not visible to you.",
    "409": "Conflicts with the current state (for example the task is already completed).",
    "415": "Unsupported request content type.",
    "422": "Understood but not processable (for example an Idempotency-Key reused with a "
    "different body).",
    "429": "Rate limit reached; retry after `Retry-After` seconds.",
}
_ALWAYS = ("400", "401", "403", "404", "429")
_ON_WRITES = ("409", "415", "422")

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    name="Idempotency-Key",
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "Any unique string (at most 255 printable ASCII characters, e.g. a UUID). Repeating a "
        "request with the same key returns the first answer (with `Idempotent-Replayed: true`) "
        "and does nothing new; the same key with a different body is a 422."
    ),
)


class FlowgateAutoSchema(AutoSchema):
    def _view_attr(self, name: str, default: Any = None) -> Any:
        return getattr(self.view, name, default)

    # --- bodies ---------------------------------------------------------------------------------
    def get_request_serializer(self) -> Any:
        input_serializer = self._view_attr("InputSerializer")
        if self.method in {"POST", "PUT", "PATCH"} and input_serializer is not None:
            return input_serializer
        if self.method in {"GET", "DELETE", "HEAD", "OPTIONS"}:
            return None
        return super().get_request_serializer()

    def get_response_serializers(self) -> Any:
        if self.method == "DELETE":
            return {self._status_for_method("204"): None}
        output_serializer = self._view_attr("OutputSerializer")
        if output_serializer is None:
            return super().get_response_serializers()
        if self._is_paginated_get():
            return {"200": output_serializer(many=True)}
        return {self._status_for_method("200"): output_serializer}

    def _status_for_method(self, default: str) -> str:
        statuses = self._view_attr("response_status") or {}
        return str(statuses.get(self.method, default))

    def _is_paginated_get(self) -> bool:
        return self.method == "GET" and bool(self._view_attr("paginated", False))

    def _is_list_view(self, serializer: Any = None) -> bool:
        return self._is_paginated_get() or super()._is_list_view(serializer)

    def _get_paginator(self) -> Any:
        if hasattr(self.view, "paginated"):
            # An ApiView is paginated only when it says so; a plain `many=True` answer is an array.
            return super()._get_paginator() if self._is_paginated_get() else None
        if getattr(self.view, "pagination_class", None) is None and self.method == "GET":
            # Plain APIView: list answers follow the API-wide convention (default pagination).
            pagination_class: Any = api_settings.DEFAULT_PAGINATION_CLASS
            return pagination_class() if pagination_class else None
        return super()._get_paginator()

    def get_filter_backends(self) -> list[Any]:
        if not self._is_list_view():
            return []
        backends = list(self._view_attr("filter_backends", []) or [])
        has_filterset = self._view_attr("filterset_class") or self._view_attr("filterset_fields")
        return [b for b in backends if has_filterset or b.__name__ != "DjangoFilterBackend"]

    # --- parameters -----------------------------------------------------------------------------
    def get_override_parameters(self) -> list[Any]:
        params = list(super().get_override_parameters())
        methods = {m.upper() for m in self._view_attr("idempotent_methods", ()) or ()}
        if self.method in methods:
            params.append(IDEMPOTENCY_KEY_PARAMETER)
        return params

    # --- responses ------------------------------------------------------------------------------
    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        codes = list(_ALWAYS) + (list(_ON_WRITES) if self.method in WRITE_METHODS else [])
        for code in codes:
            if code in responses:
                continue
            response = self._get_response_for_code(ErrorSerializer, code, direction=direction)
            response["description"] = _ERROR_DESCRIPTIONS[code]
            if code == "429":
                response.setdefault("headers", {})["Retry-After"] = {
                    "schema": {"type": "integer", "minimum": 1},
                    "description": "Seconds to wait before the next write request.",
                }
            responses[code] = response
        methods = {m.upper() for m in self._view_attr("idempotent_methods", ()) or ()}
        if self.method in methods:
            for code, response in responses.items():
                if code.startswith("2"):
                    response.setdefault("headers", {})["Idempotent-Replayed"] = {
                        "schema": {"type": "string", "enum": ["true"]},
                        "description": "Present when this is the stored answer to an earlier "
                        "request with the same Idempotency-Key.",
                    }
        return dict(sorted(responses.items()))

    # --- names ----------------------------------------------------------------------------------
    def get_serializer_name(self, serializer: serializers.Serializer, direction: Any) -> str:
        cls = serializer.__class__
        outer, _, inner = cls.__qualname__.rpartition(".")
        if not outer or "<locals>" in outer:
            return super().get_serializer_name(serializer, direction)
        outer = outer.rpartition(".")[2]
        base = outer[: -len("Api")] if outer.endswith("Api") and outer != "Api" else outer
        suffix = {"OutputSerializer": "Output", "InputSerializer": "Input"}.get(inner)
        if suffix is None:
            suffix = inner[: -len("Serializer")] if inner.endswith("Serializer") else inner
        return f"{base}{suffix}"
