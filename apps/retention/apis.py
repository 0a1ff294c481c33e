"""Retention over HTTP (role admin): policies, legal holds, and checking an archive."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.roles import Role
from apps.common.actors import actor_for_request
from apps.common.api import ApiView, HasRole
from apps.retention.models import InstanceHold, RetentionPolicy
from apps.retention.selectors import archive_check, portal_default_days
from apps.retention.services import (
    instance_hold_set,
    retention_default_set,
    retention_policy_set,
)

ADMIN_ONLY: list[Any] = [IsAuthenticated, HasRole(Role.ADMIN)]


class PolicySerializer(serializers.ModelSerializer):
    class Meta:
        model = RetentionPolicy
        fields = ["process_key", "days", "legal_hold", "reason", "updated_at"]


class HoldSerializer(serializers.ModelSerializer):
    class Meta:
        model = InstanceHold
        fields = ["instance_id", "reason", "created_at"]


class PolicyListApi(ApiView):
    permission_classes = ADMIN_ONLY
    OutputSerializer = PolicySerializer
    paginated = True

    @extend_schema(summary="Retention policies per process")
    def get(self, request: Request) -> Response:
        return self.paginated_response(RetentionPolicy.objects.all())


class PolicySetApi(ApiView):
    permission_classes = ADMIN_ONLY
    OutputSerializer = PolicySerializer

    class InputSerializer(serializers.Serializer):
        days = serializers.IntegerField(
            min_value=1, max_value=36500, allow_null=True, help_text="null: keep forever"
        )
        legal_hold = serializers.BooleanField(default=False)
        reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

    @extend_schema(summary="Set a process's retention period and legal hold")
    def put(self, request: Request, process_key: str) -> Response:
        data = self.validated_input()
        policy = retention_policy_set(
            process_key=process_key,
            actor=actor_for_request(request),
            user=request.user,
            **data,
        )
        return self.respond(policy)


class DefaultApi(ApiView):
    permission_classes = ADMIN_ONLY

    class OutputSerializer(serializers.Serializer):
        days = serializers.IntegerField(help_text="the period in force; 0 keeps everything")
        origin = serializers.ChoiceField(
            choices=["page", "environment"],
            help_text="set on the retention page, or the FLOWGATE_RETENTION_DAYS setting",
        )

    class InputSerializer(serializers.Serializer):
        days = serializers.IntegerField(
            min_value=0,
            max_value=36500,
            allow_null=True,
            help_text="0 keeps everything; null: use FLOWGATE_RETENTION_DAYS",
        )

    @extend_schema(summary="The portal default retention period")
    def get(self, request: Request) -> Response:
        days, source = portal_default_days()
        return self.respond({"days": days, "origin": source})

    @extend_schema(summary="Set the portal default retention period (null: the environment's)")
    def put(self, request: Request) -> Response:
        data = self.validated_input()
        retention_default_set(
            days=data["days"], actor=actor_for_request(request), user=request.user
        )
        days, source = portal_default_days()
        return self.respond({"days": days, "origin": source})


class HoldApi(ApiView):
    permission_classes = ADMIN_ONLY
    OutputSerializer = HoldSerializer

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=500)

    @extend_schema(summary="Put a legal hold on an instance (it is not purged while it lasts)")
    def put(self, request: Request, instance_id: int) -> Response:
        data = self.validated_input()
        instance_hold_set(
            instance_id=instance_id,
            hold=True,
            reason=data["reason"],
            actor=actor_for_request(request),
            user=request.user,
        )
        return self.respond(InstanceHold.objects.get(instance_id=instance_id))

    @extend_schema(summary="Lift an instance's legal hold", responses={204: None})
    def delete(self, request: Request, instance_id: int) -> Response:
        instance_hold_set(instance_id=instance_id, hold=False, actor=actor_for_request(request))
        return Response(status=204)


class ArchiveCheckApi(ApiView):
    permission_classes = [IsAuthenticated, HasRole(Role.ADMIN, Role.AUDITOR)]

    @extend_schema(
        summary="Check a purged instance's archive against the audit chain",
        responses={200: dict},
    )
    def get(self, request: Request, instance_id: int) -> Response:
        return Response(archive_check(instance_id))
