"""Thin API views: connectors (read) and secrets (admin only; values are never returned)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.permissions import has_role
from apps.accounts.roles import Role
from apps.common.errors import FlowgateError
from apps.connectors import selectors, services


class IsAdminRole(BasePermission):
    message = "Only administrators may manage connector secrets."

    def has_permission(self, request, view) -> bool:
        return has_role(request.user, Role.ADMIN)


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField()
    message = serializers.CharField()
    details = serializers.ListField(child=serializers.JSONField(), required=False)


def _error_response(exc: FlowgateError) -> Response:
    return Response(
        {"error": exc.code, "message": exc.message, "details": exc.details}, status=exc.status
    )


class ConnectorListApi(GenericAPIView):
    """Registered connectors with the JSON Schema of their inputs (for the designer)."""

    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        name = serializers.CharField()
        label = serializers.CharField()
        description = serializers.CharField()
        config_schema = serializers.JSONField()

    serializer_class = OutputSerializer

    @extend_schema(operation_id="connectors_list", responses={200: OutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        connectors = [c.describe() for c in selectors.connector_list()]
        page = self.paginate_queryset(connectors)
        data = self.OutputSerializer(page, many=True).data
        return self.get_paginated_response(data)


class SecretOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    is_set = serializers.SerializerMethodField()
    created_by = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_is_set(self, obj) -> bool:
        return True

    def get_created_by(self, obj) -> str | None:
        return obj.created_by.get_username() if obj.created_by else None


class SecretListCreateApi(GenericAPIView):
    """List secret names (never values) or create/replace a secret. Administrators only."""

    permission_classes = [IsAuthenticated, IsAdminRole]
    serializer_class = SecretOutputSerializer

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100)
        value = serializers.CharField(write_only=True, trim_whitespace=False, max_length=16384)

    def get_queryset(self):
        return selectors.secret_list()

    @extend_schema(operation_id="secrets_list", responses={200: SecretOutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(SecretOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="secrets_set",
        request=InputSerializer,
        responses={201: SecretOutputSerializer, 400: ErrorSerializer},
        examples=[
            OpenApiExample(
                "Store an API key",
                value={"name": "billing-api-key", "value": "s3cr3t"},
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            secret = services.secret_set(
                name=payload.validated_data["name"],
                value=payload.validated_data["value"],
                actor_user=request.user,
            )
        except FlowgateError as exc:
            return _error_response(exc)
        return Response(SecretOutputSerializer(secret).data, status=status.HTTP_201_CREATED)


class SecretDeleteApi(GenericAPIView):
    permission_classes = [IsAuthenticated, IsAdminRole]
    serializer_class = SecretOutputSerializer

    @extend_schema(operation_id="secrets_delete", responses={204: None, 404: ErrorSerializer})
    def delete(self, request: Request, name: str) -> Response:
        try:
            services.secret_delete(name=name, actor_user=request.user)
        except FlowgateError as exc:
            return _error_response(exc)
        return Response(status=status.HTTP_204_NO_CONTENT)
