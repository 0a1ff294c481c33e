"""Thin API views: connectors (read, any signed-in user) and secrets (admins only; a secret's value
goes in once and never comes back out)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from apps.accounts.roles import Role
from apps.common.api import ApiView, HasRole
from apps.connectors import selectors, services
from apps.connectors.services import MAX_SECRET_BYTES


class ConnectorListApi(ApiView):
    """Registered connectors, for the designer's service-task panel."""

    paginated = True

    class OutputSerializer(serializers.Serializer):
        name = serializers.CharField(help_text="Use it as the service task's connector/topic.")
        label = serializers.CharField()  # type: ignore[assignment]
        description = serializers.CharField(allow_blank=True)
        config_schema = serializers.JSONField(help_text="JSON Schema of the connector's inputs.")
        chainable = serializers.BooleanField(
            help_text="Run by the worker together with the chainable steps around it, results "
            "applied in one transaction (fast, local work only); otherwise with a lease."
        )

    @extend_schema(
        summary="List the registered connectors",
        description="Built-ins (http, email, echo, set_variables) plus plug-ins, ordered by name, "
        "each with the JSON Schema of its inputs (shown in the designer).",
    )
    def get(self, request):
        return self.paginated_response([c.describe() for c in selectors.connector_list()])


class SecretOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    is_set = serializers.SerializerMethodField(help_text="Always true; the value is never shown.")
    created_by = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_is_set(self, obj) -> bool:
        return True

    def get_created_by(self, obj) -> str | None:
        return obj.created_by.get_username() if obj.created_by else None


class SecretListCreateApi(ApiView):
    """Connector secrets (administrators only): names and dates, never values."""

    permission_classes = [IsAuthenticated, HasRole(Role.ADMIN)]
    paginated = True
    response_status = {"POST": 201}
    OutputSerializer = SecretOutputSerializer

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(
            max_length=100, help_text="Lower-case letters, digits, '-' and '_'."
        )
        value = serializers.CharField(
            write_only=True, trim_whitespace=False, max_length=MAX_SECRET_BYTES
        )

    @extend_schema(
        summary="List connector secrets (names only, never values)",
        description="Administrators only. Values are write-only and are never returned.",
    )
    def get(self, request):
        return self.paginated_response(selectors.secret_list())

    @extend_schema(
        summary="Create or replace a connector secret",
        description="Stores the value encrypted (Fernet, FLOWGATE_SECRET_KEYS). The value is "
        "never returned, logged or audited; setting an existing name replaces its value.",
        examples=[
            OpenApiExample(
                "Store an API key",
                value={"name": "billing-api-key", "value": "s3cr3t"},
                request_only=True,
            )
        ],
    )
    def post(self, request):
        data = self.validated_input()
        secret = services.secret_set(
            name=data["name"], value=data["value"], actor_user=request.user
        )
        return self.respond(secret, status=201)


class SecretDeleteApi(ApiView):
    """Delete a connector secret (administrators only); audited."""

    permission_classes = [IsAuthenticated, HasRole(Role.ADMIN)]

    @extend_schema(
        summary="Delete a connector secret",
        description="Administrators only. Service tasks using it then fail with a clear "
        "permanent error until it is set again.",
    )
    def delete(self, request, name: str):
        services.secret_delete(name=name, actor_user=request.user)
        return Response(status=204)


class CircuitListApi(ApiView):
    """The HTTP connector's circuit breakers (administrators only)."""

    permission_classes = [IsAuthenticated, HasRole(Role.ADMIN)]
    paginated = True

    class OutputSerializer(serializers.Serializer):
        target = serializers.CharField(help_text="scheme://host:port of the called service")
        state = serializers.ChoiceField(choices=["closed", "open", "half_open"])
        failures = serializers.IntegerField(help_text="Consecutive failed calls")
        open_until = serializers.DateTimeField(
            allow_null=True, help_text="When the next probe may go (open or half-open)"
        )
        last_error = serializers.CharField(allow_blank=True)

    @extend_schema(
        summary="List the HTTP connector's circuit breakers",
        description="Administrators only. A circuit opens after repeated failures of its target; "
        "while open, steps calling it wait without calling (decision 029).",
    )
    def get(self, request):
        return self.paginated_response(selectors.circuit_list())


class CircuitCloseApi(ApiView):
    """Close a circuit by hand (administrators only); audited."""

    permission_classes = [IsAuthenticated, HasRole(Role.ADMIN)]

    class InputSerializer(serializers.Serializer):
        target = serializers.CharField(max_length=300, help_text="As listed, scheme://host:port")

    @extend_schema(
        summary="Close an HTTP connector circuit",
        description="Administrators only. The waiting steps call the target at their next run; "
        "a failing target opens the circuit again after the threshold.",
        responses={204: None},
    )
    def post(self, request):
        data = self.validated_input()
        services.circuit_close(target=data["target"], actor_user=request.user)
        return Response(status=204)
