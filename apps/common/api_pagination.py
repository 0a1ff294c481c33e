"""List conventions: page-number pagination and strict ordering/search filters.

Kept apart from ``apps.common.api`` because REST_FRAMEWORK settings import these classes while
DRF itself is still loading (``apps.common.api`` re-exports them).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rest_framework import exceptions, filters
from rest_framework.pagination import PageNumberPagination

# --- pagination ----------------------------------------------------------------------------------


class Pagination(PageNumberPagination):
    """``?page=N&page_size=M`` (M at most 200, default 25) -> {count, next, previous, results}.

    A malformed ``page``/``page_size`` is a 400; a page past the end is a 404.
    """

    page_size = 25
    max_page_size = 200
    page_size_query_param = "page_size"
    page_query_param = "page"
    last_page_strings = ()

    def _int_param(self, request: Any, name: str, *, maximum: int | None = None) -> int | None:
        raw = request.query_params.get(name)
        if raw is None or raw == "":
            return None
        try:
            value = int(raw)
        except ValueError:
            value = 0
        if value < 1 or (maximum is not None and value > maximum):
            limit = f" and at most {maximum}" if maximum is not None else ""
            raise exceptions.ValidationError(
                {name: [f"Must be a whole number of at least 1{limit}; got {raw[:40]!r}."]}
            )
        return value

    def get_page_size(self, request: Any) -> int:
        size = self._int_param(request, self.page_size_query_param, maximum=self.max_page_size)
        return size or self.page_size

    def get_page_number(self, request: Any, paginator: Any) -> int:
        return self._int_param(request, self.page_query_param) or 1

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> list[Any]:
        try:
            return super().paginate_queryset(queryset, request, view) or []
        except exceptions.NotFound:
            page = self.get_page_number(request, None)
            raise exceptions.NotFound(
                f"Page {page} does not exist: this list has fewer pages. Start at page 1."
            ) from None

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        paginated = super().get_paginated_response_schema(schema)
        paginated["required"] = ["count", "next", "previous", "results"]
        paginated["properties"]["count"]["minimum"] = 0
        return paginated

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": self.page_query_param,
                "required": False,
                "in": "query",
                "description": "Page number, from 1.",
                "schema": {"type": "integer", "minimum": 1},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Results per page (default {self.page_size}, "
                f"at most {self.max_page_size}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
        ]


# --- filtering -----------------------------------------------------------------------------------


class OrderingFilter(filters.OrderingFilter):
    """``?ordering=field,-other`` over the view's ``ordering_fields``; unknown fields are a 400.

    Views without ``ordering_fields`` keep their default ``ordering`` and ignore the parameter.
    """

    def get_valid_fields(self, queryset: Any, view: Any, context: Any = None) -> list[Any]:
        fields = getattr(view, "ordering_fields", None)
        if not fields:
            return []
        return [(name, name) for name in fields]

    def remove_invalid_fields(
        self, queryset: Any, fields: Iterable[str], view: Any, request: Any
    ) -> list[str]:
        allowed = {name for name, _ in self.get_valid_fields(queryset, view)}
        if not allowed:
            return []
        wanted = [term for term in fields if term]
        unknown = [term for term in wanted if term.lstrip("-") not in allowed]
        if unknown:
            raise exceptions.ValidationError(
                {
                    self.ordering_param: [
                        f"Cannot order by {', '.join(unknown)}. Allowed: "
                        f"{', '.join(sorted(allowed))} (prefix '-' for descending)."
                    ]
                }
            )
        return wanted

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        fields = list(getattr(view, "ordering_fields", None) or [])
        if not fields:
            return []
        alternatives = "|".join(sorted(fields, key=len, reverse=True))
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": "Sort by one or more comma-separated fields, '-' for descending: "
                + ", ".join(fields),
                "schema": {
                    "type": "string",
                    "pattern": f"^-?({alternatives})(,-?({alternatives}))*$",
                },
            }
        ]


class SearchFilter(filters.SearchFilter):
    """``?search=text`` over the view's ``search_fields``; documented only where it applies."""

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        if not getattr(view, "search_fields", None):
            return []
        params = super().get_schema_operation_parameters(view)
        params[0]["description"] = "Text search over: " + ", ".join(view.search_fields)
        return params
