"""The API toolkit every Flowgate endpoint shares (HackSoft style: one thin view per operation).

    from apps.common.api import ApiView, HasRole, idempotent

    class TokenRevokeApi(ApiView):
        permission_classes = [IsAuthenticated, HasRole(Role.ADMIN)]

        def delete(self, request, token_id: int):
            token = get_object_or_404(api_tokens_of(user=request.user), pk=token_id)
            api_token_revoke(token=token, actor=request.user)
            return Response(status=204)

See docs/api.md for the conventions (errors, pagination, filtering, idempotency, rate limits).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from apps.common.api_errors import (
    ErrorSerializer,
    error_body,
    error_response,
    exception_handler,
)
from apps.common.api_idempotency import (
    IDEMPOTENCY_HEADER,
    REPLAYED_HEADER,
    idempotency_records_prune,
    idempotent,
    request_fingerprint,
)
from apps.common.api_pagination import OrderingFilter, Pagination, SearchFilter
from apps.common.api_schema import IDEMPOTENCY_KEY_PARAMETER
from apps.common.api_throttling import WriteRateThrottle

if TYPE_CHECKING:
    from rest_framework.permissions import _PermissionClass

__all__ = [
    "IDEMPOTENCY_HEADER",
    "IDEMPOTENCY_KEY_PARAMETER",
    "REPLAYED_HEADER",
    "ApiView",
    "ErrorSerializer",
    "HasRole",
    "OrderingFilter",
    "Pagination",
    "SearchFilter",
    "WriteRateThrottle",
    "error_body",
    "error_response",
    "exception_handler",
    "idempotency_records_prune",
    "idempotent",
    "request_fingerprint",
]

# --- permissions ---------------------------------------------------------------------------------


def HasRole(*roles: str) -> type[BasePermission]:  # noqa: N802 - reads like a permission class
    """Permission class factory: the user must hold at least one of ``roles`` (accounts.roles).

    ``permission_classes = [IsAuthenticated, HasRole(Role.DESIGNER, Role.ADMIN)]``
    """
    if not roles:
        raise ValueError("HasRole needs at least one role name.")
    names = tuple(str(role) for role in roles)
    wanted = " or ".join(names)

    class _HasRole(BasePermission):
        message = f"This needs the role {wanted}; ask an admin if you should have it."
        code = "role_required"

        def has_permission(self, request: Any, view: Any) -> bool:
            # The user model's own role check: common sits below accounts and imports none of it.
            user = request.user
            return bool(user and user.is_authenticated and user.has_role(*names))

    _HasRole.__name__ = _HasRole.__qualname__ = f"HasRole({', '.join(names)})"
    return _HasRole


# --- the base view -------------------------------------------------------------------------------


class ApiView(APIView):
    """Base of every Flowgate API view.

    Authentication (Token/Bearer, then session) and IsAuthenticated come from REST_FRAMEWORK.
    Nested ``InputSerializer``/``OutputSerializer`` are picked up by the helpers below and by the
    OpenAPI generator (apps.common.api_schema). Class attributes the schema reads:

    - ``paginated = True``: GET answers a paginated list of ``OutputSerializer``;
    - ``response_status = {"POST": 201}``: the success status per method (default 200/204);
    - ``idempotent_methods = ("post",)``: documents the Idempotency-Key header;
    - ``ordering_fields``, ``ordering``, ``search_fields``, ``filterset_class`` /
      ``filterset_fields`` (+ ``queryset = Model.objects.none()`` for the schema): list filters.
    """

    permission_classes: Sequence[_PermissionClass] = [IsAuthenticated]
    pagination_class = Pagination
    filter_backends: Sequence[Any] = (DjangoFilterBackend, OrderingFilter, SearchFilter)

    InputSerializer: type[BaseSerializer] | None = None
    OutputSerializer: type[BaseSerializer] | None = None
    paginated = False
    response_status: dict[str, int] = {}
    idempotent_methods: Iterable[str] = ()
    queryset: QuerySet | None = None  # for schema introspection of filterset_fields only
    ordering_fields: Sequence[str] | None = None
    ordering: Sequence[str] | str | None = None
    search_fields: Sequence[str] | None = None

    def get_queryset(self) -> QuerySet:
        if self.queryset is None:
            raise ImproperlyConfigured(f"{type(self).__name__} has no queryset for filtering.")
        return self.queryset.all()

    def get_serializer_context(self) -> dict[str, Any]:
        return {"request": self.request, "view": self}

    def validated_input(
        self, data: Any = None, *, serializer: type[BaseSerializer] | None = None, **kwargs: Any
    ) -> Any:
        """Validate ``data`` (default: the request body) with ``InputSerializer``; 400 on errors."""
        serializer_class = serializer or self.InputSerializer
        if serializer_class is None:
            raise ImproperlyConfigured(f"{type(self).__name__} has no InputSerializer.")
        bound = serializer_class(
            data=self.request.data if data is None else data,
            context=self.get_serializer_context(),
            **kwargs,
        )
        bound.is_valid(raise_exception=True)
        return bound.validated_data

    def output(self, instance: Any, *, serializer: type[BaseSerializer] | None = None) -> Any:
        serializer_class = serializer or self.OutputSerializer
        if serializer_class is None:
            raise ImproperlyConfigured(f"{type(self).__name__} has no OutputSerializer.")
        return serializer_class(instance, context=self.get_serializer_context()).data

    def respond(
        self,
        instance: Any,
        *,
        status: int = 200,
        serializer: type[BaseSerializer] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        return Response(
            self.output(instance, serializer=serializer), status=status, headers=headers
        )

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        for backend in list(self.filter_backends):
            queryset = backend().filter_queryset(self.request, queryset, self)
        return queryset

    def paginated_response(
        self, queryset: QuerySet | Sequence[Any], *, serializer: type[BaseSerializer] | None = None
    ) -> Response:
        """Filter (querysets only), order, paginate and serialize a list answer."""
        if isinstance(queryset, QuerySet):
            queryset = self.filter_queryset(queryset)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(queryset, self.request, view=self)
        serializer_class = serializer or self.OutputSerializer
        if serializer_class is None:
            raise ImproperlyConfigured(f"{type(self).__name__} has no OutputSerializer.")
        data = serializer_class(page, many=True, context=self.get_serializer_context()).data
        return paginator.get_paginated_response(data)

    def idempotent(self, scope: str, handler: Any) -> Response:
        return idempotent(self.request, scope, handler)
