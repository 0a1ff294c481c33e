"""Who may view a process read-only: list, grant, revoke."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from apps.common.actors import actor_for_request
from apps.common.api import ApiView
from apps.common.errors import AccessDenied
from apps.processes import selectors, sharing
from apps.processes.models import ProcessDefinition


class ViewersOutput(serializers.Serializer):
    users = serializers.ListField(child=serializers.CharField())
    roles = serializers.ListField(child=serializers.CharField())


class ProcessViewersApi(ApiView):
    """Who may view a process read-only (besides designers and admins, who see every process).
    Only designers and admins read or change it."""

    class Input(serializers.Serializer):
        user = serializers.CharField(required=False, allow_blank=True, max_length=150)
        role = serializers.CharField(required=False, allow_blank=True, max_length=150)

    def _definition(self, request: Request, key: str) -> ProcessDefinition:
        if not sharing.can_edit(request.user):
            raise AccessDenied("Only designers and admins share processes.")
        return selectors.definition_get(key=key)

    @extend_schema(responses=ViewersOutput, summary="Users and roles granted view access")
    def get(self, request: Request, key: str) -> Response:
        viewers = sharing.process_viewers(definition=self._definition(request, key))
        return Response(ViewersOutput(viewers).data)

    @extend_schema(
        request=Input,
        responses={201: ViewersOutput},
        summary="Grant a user or a role read-only view access to a process",
    )
    def post(self, request: Request, key: str) -> Response:
        definition = self._definition(request, key)
        data = self.validated_input(serializer=self.Input)
        viewers = sharing.process_view_grant(
            definition=definition,
            actor=actor_for_request(request),
            by=request.user,
            user=data.get("user", ""),
            role=data.get("role", ""),
        )
        return Response(ViewersOutput(viewers).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[Input],
        responses=ViewersOutput,
        summary="Take back a user's or a role's view access (?user= or ?role=)",
    )
    def delete(self, request: Request, key: str) -> Response:
        definition = self._definition(request, key)
        data = self.validated_input(request.query_params, serializer=self.Input)
        viewers = sharing.process_view_revoke(
            definition=definition,
            actor=actor_for_request(request),
            by=request.user,
            user=data.get("user", ""),
            role=data.get("role", ""),
        )
        return Response(ViewersOutput(viewers).data)
