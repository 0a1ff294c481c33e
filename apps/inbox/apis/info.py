""" "More information needed": the approver asks the requester, the requester answers (same
services as the task and request pages, apps.inbox.services.info)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import JSONParser, MultiPartParser

from apps.accounts.requests import AuthenticatedRequest
from apps.inbox import services
from apps.inbox.apis.tasks import TaskActionApi, TaskOutput


@extend_schema(
    responses={200: TaskOutput},
    summary="Send the task back to its requester with a question (pauses its SLA clock); "
    "a second request answers 409",
)
class TaskInfoRequestApi(TaskActionApi):
    class InputSerializer(serializers.Serializer):
        question = serializers.CharField(max_length=4000, allow_blank=True)

    service = staticmethod(services.task_info_request)


class TaskInfoProvideInput(serializers.Serializer):
    answer = serializers.CharField(max_length=4000, allow_blank=True)


@extend_schema(
    request={
        "application/json": TaskInfoProvideInput,
        "multipart/form-data": {
            "type": "object",
            "properties": {
                "answer": {"type": "string"},
                "file": {"type": "string", "format": "binary"},
            },
            "required": ["answer"],
        },
    },
    summary="The requester answers the question (optionally with a file): the task returns "
    "to the approver and its SLA clock runs again",
)
class TaskInfoProvideApi(TaskActionApi):
    parser_classes = [JSONParser, MultiPartParser]
    InputSerializer = TaskInfoProvideInput
    service = staticmethod(services.task_info_provide)

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        instance_id = serializers.IntegerField()
        status = serializers.CharField()
        sla_warning_at = serializers.DateTimeField(allow_null=True)
        sla_breach_at = serializers.DateTimeField(allow_null=True)
        due_at = serializers.DateTimeField(allow_null=True)
        paused_seconds = serializers.FloatField()

    def service_arguments(self, request: AuthenticatedRequest, data: dict) -> dict[str, Any]:
        return {**data, "upload": request.FILES.get("file")}
