""" "More information needed": the approver asks the requester, the requester answers (same
services as the task and request pages, apps.inbox.services.info)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response

from apps.accounts.requests import AuthenticatedRequest
from apps.common.actors import actor_for_request
from apps.common.api import ApiView
from apps.inbox import services
from apps.inbox.apis.tasks import TaskOutput


class TaskInfoRequestApi(ApiView):
    class InputSerializer(serializers.Serializer):
        question = serializers.CharField(max_length=4000, allow_blank=True)

    @extend_schema(
        request=InputSerializer,
        responses={200: TaskOutput},
        summary="Send the task back to its requester with a question (pauses its SLA clock); "
        "a second request answers 409",
    )
    def post(self, request: AuthenticatedRequest, task_id: int) -> Response:
        data = self.validated_input()
        task = services.task_info_request(
            task_id=task_id,
            user=request.user,
            question=data["question"],
            actor=actor_for_request(request),
        )
        return Response(TaskOutput(task).data)


class TaskInfoProvideApi(ApiView):
    parser_classes = [JSONParser, MultiPartParser]

    class InputSerializer(serializers.Serializer):
        answer = serializers.CharField(max_length=4000, allow_blank=True)

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        instance_id = serializers.IntegerField()
        status = serializers.CharField()
        sla_warning_at = serializers.DateTimeField(allow_null=True)
        sla_breach_at = serializers.DateTimeField(allow_null=True)
        due_at = serializers.DateTimeField(allow_null=True)
        paused_seconds = serializers.FloatField()

    @extend_schema(
        request={
            "application/json": InputSerializer,
            "multipart/form-data": {
                "type": "object",
                "properties": {
                    "answer": {"type": "string"},
                    "file": {"type": "string", "format": "binary"},
                },
                "required": ["answer"],
            },
        },
        responses={200: OutputSerializer},
        summary="The requester answers the question (optionally with a file): the task returns "
        "to the approver and its SLA clock runs again",
    )
    def post(self, request: AuthenticatedRequest, task_id: int) -> Response:
        data = self.validated_input()
        task = services.task_info_provide(
            task_id=task_id,
            user=request.user,
            answer=data["answer"],
            upload=request.FILES.get("file"),
            actor=actor_for_request(request),
        )
        return Response(self.OutputSerializer(task).data)
