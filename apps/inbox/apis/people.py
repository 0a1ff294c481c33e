"""Out-of-office substitutions and e-mail preferences."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from apps.accounts.requests import AuthenticatedRequest
from apps.common.actors import actor_for_request
from apps.common.api import ApiView
from apps.inbox import selectors, services


class SubstitutionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    substitute = serializers.CharField(source="substitute.username")
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()


class SubstitutionListApi(ApiView):
    class InputSerializer(serializers.Serializer):
        substitute = serializers.CharField(max_length=150)
        starts_at = serializers.DateTimeField()
        ends_at = serializers.DateTimeField()

    @extend_schema(responses=SubstitutionOutput(many=True), summary="Your out-of-office periods")
    def get(self, request: AuthenticatedRequest) -> Response:
        return Response(
            SubstitutionOutput(selectors.substitutions_of(user=request.user), many=True).data
        )

    @extend_schema(
        request=InputSerializer,
        responses={201: SubstitutionOutput},
        summary="Name a substitute for a period: new tasks for you go to them",
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        data = self.validated_input()
        substitution = services.substitution_set(
            user=request.user,
            substitute_username=data["substitute"],
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
            actor=actor_for_request(request),
        )
        return Response(SubstitutionOutput(substitution).data, status=201)


class SubstitutionEndApi(ApiView):
    @extend_schema(request=None, responses=SubstitutionOutput, summary="End a substitution now")
    def post(self, request: AuthenticatedRequest, substitution_id: int) -> Response:
        substitution = services.substitution_end(
            substitution_id=substitution_id, user=request.user, actor=actor_for_request(request)
        )
        return Response(SubstitutionOutput(substitution).data)


class NotificationSettingsApi(ApiView):
    class InputSerializer(serializers.Serializer):
        email_on_assignment = serializers.BooleanField()
        email_on_escalation = serializers.BooleanField()

    @extend_schema(request=InputSerializer, responses=InputSerializer, summary="E-mail preferences")
    def put(self, request: AuthenticatedRequest) -> Response:
        data = self.validated_input()
        prefs = services.notification_settings_update(user=request.user, **data)
        return Response(self.InputSerializer(prefs).data)
