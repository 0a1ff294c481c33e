"""Moving a token of one instance over HTTP (issue #21, "instance modification"). Thin: parse,
check the role, call one service. Operators only (admins and managers)."""

from __future__ import annotations

from dataclasses import asdict

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from apps.common.actors import actor_for_request
from apps.common.api import ApiView, HasRole
from apps.common.errors import NotFound
from apps.engine import operator_services
from apps.engine.migration_apis import OPERATOR_ROLES
from apps.engine.models import ProcessInstance


class ElementOutput(serializers.Serializer):
    activity_id = serializers.CharField()
    type = serializers.CharField()
    name = serializers.CharField()


class MoveOptionsOutput(serializers.Serializer):
    active = ElementOutput(many=True, help_text="Active elements a token can move away from")
    targets = ElementOutput(many=True, help_text="Steps of the model a token can move to")


class WaitOutput(serializers.Serializer):
    kind = serializers.CharField(help_text="user_task, job, timer or message")
    activity_id = serializers.CharField()
    detail = serializers.CharField(help_text="task name, connector, due time or message name")


#: ``from`` is a Python keyword: the serializers are built with it as a field name.
TokenMoveInput = type(
    "TokenMoveInput",
    (serializers.Serializer,),
    {
        "from": serializers.CharField(max_length=200, help_text="An active element's id"),
        "to": serializers.CharField(max_length=200, help_text="The id of any step of the model"),
        "reason": serializers.CharField(
            max_length=500, help_text="Why (required; goes into the audit trail)"
        ),
        "dry_run": serializers.BooleanField(required=False, default=False),
    },
)

TokenMoveOutput = type(
    "TokenMoveOutput",
    (serializers.Serializer,),
    {
        "instance_id": serializers.IntegerField(),
        "status": serializers.CharField(),
        "dry_run": serializers.BooleanField(),
        "from": serializers.CharField(),
        "to": serializers.CharField(),
        "reason": serializers.CharField(),
        "cancelled": serializers.ListField(child=serializers.CharField()),
        "entered": serializers.ListField(child=serializers.CharField()),
        "waits_removed": WaitOutput(many=True),
        "waits_created": WaitOutput(many=True),
        "waiting_before": serializers.ListField(child=serializers.CharField()),
        "waiting_after": serializers.ListField(child=serializers.CharField()),
    },
)


class InstanceTokenMoveApi(ApiView):
    permission_classes = [IsAuthenticated, HasRole(*OPERATOR_ROLES)]
    InputSerializer = TokenMoveInput

    @extend_schema(
        responses={200: MoveOptionsOutput},
        summary="Where a token of this instance can move from and to",
    )
    def get(self, request: Request, instance_id: int) -> Response:
        instance = ProcessInstance.objects.filter(pk=instance_id).first()
        if instance is None:
            raise NotFound(f"Process instance {instance_id} does not exist.")
        options = operator_services.instance_move_options(instance=instance)
        return Response(
            MoveOptionsOutput(
                {
                    "active": [asdict(e) for e in options.active],
                    "targets": [asdict(e) for e in options.targets],
                }
            ).data
        )

    @extend_schema(
        request=TokenMoveInput,
        responses={200: TokenMoveOutput},
        summary="Move a token from an active element to any step (forward or back), or preview it",
    )
    def post(self, request: Request, instance_id: int) -> Response:
        data = self.validated_input()
        report = operator_services.instance_token_move(
            instance_id=instance_id,
            from_activity_id=data["from"],
            to_activity_id=data["to"],
            reason=data["reason"],
            dry_run=data["dry_run"],
            actor=actor_for_request(request),
        )
        return Response(TokenMoveOutput(report).data)
