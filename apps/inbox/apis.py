"""Task API: the caller's open tasks; claim, unclaim, delegate, complete (approve / reject)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.actors import actor_for_request
from apps.common.api_pagination import Pagination as PageNumberPagination
from apps.common.errors import InvalidInput
from apps.inbox import selectors, services
from apps.inbox.models import HumanTask, TaskStatus


class TaskOutput(serializers.ModelSerializer):
    assignee = serializers.CharField(source="assignee.username", allow_null=True, default=None)
    business_key = serializers.CharField(source="instance.business_key")

    class Meta:
        model = HumanTask
        fields = [
            "id",
            "instance_id",
            "process_key",
            "business_key",
            "activity_id",
            "name",
            "status",
            "assignee",
            "candidate_groups",
            "candidate_users",
            "priority",
            "due_at",
            "is_approval",
            "outcome",
            "created_at",
            "completed_at",
        ]


class TaskDetailOutput(TaskOutput):
    variables = serializers.JSONField(source="instance.variables")

    class Meta(TaskOutput.Meta):
        fields = [*TaskOutput.Meta.fields, "documentation", "form", "data", "variables"]


class TaskListApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("mine", bool),
            OpenApiParameter("search", str),
            OpenApiParameter("status", str, enum=["open", "completed", "cancelled"]),
        ],
        responses=TaskOutput(many=True),
        summary="Tasks offered to you (your roles, you by name) or assigned to you",
    )
    def get(self, request: Request) -> Response:
        status = request.query_params.get("status", TaskStatus.OPEN)
        if status not in TaskStatus.values:
            raise InvalidInput(
                "status must be open, completed or cancelled.", code="invalid_filter"
            )
        qs = selectors.inbox_list(
            user=request.user,
            mine=request.query_params.get("mine") in ("1", "true", "yes"),
            search=request.query_params.get("search", ""),
            status=status,
        )
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(TaskOutput(page, many=True).data)


class TaskDetailApi(APIView):
    @extend_schema(responses=TaskDetailOutput, summary="One task with its form and data")
    def get(self, request: Request, task_id: int) -> Response:
        return Response(
            TaskDetailOutput(selectors.task_get_for_user(user=request.user, task_id=task_id)).data
        )


class TaskClaimApi(APIView):
    @extend_schema(
        request=None, responses=TaskOutput, summary="Claim a task (assign it to yourself)"
    )
    def post(self, request: Request, task_id: int) -> Response:
        task = services.task_claim(
            task_id=task_id, user=request.user, actor=actor_for_request(request)
        )
        return Response(TaskOutput(task).data)


class TaskUnclaimApi(APIView):
    @extend_schema(
        request=None, responses=TaskOutput, summary="Give a claimed task back to its candidates"
    )
    def post(self, request: Request, task_id: int) -> Response:
        task = services.task_unclaim(
            task_id=task_id, user=request.user, actor=actor_for_request(request)
        )
        return Response(TaskOutput(task).data)


class DelegateInput(serializers.Serializer):
    username = serializers.CharField(max_length=150)


class TaskDelegateApi(APIView):
    @extend_schema(
        request=DelegateInput, responses=TaskOutput, summary="Hand a task to another user"
    )
    def post(self, request: Request, task_id: int) -> Response:
        data = DelegateInput(data=request.data)
        data.is_valid(raise_exception=True)
        task = services.task_delegate(
            task_id=task_id,
            user=request.user,
            to_username=data.validated_data["username"],
            actor=actor_for_request(request),
        )
        return Response(TaskOutput(task).data)


class CompleteInput(serializers.Serializer):
    data = serializers.DictField(
        required=False, default=dict, help_text="Form values; approvals need approved"
    )


class TaskCompleteApi(APIView):
    @extend_schema(
        request=CompleteInput,
        responses={200: TaskOutput},
        summary="Complete a task; a second completion answers 409",
        examples=[
            OpenApiExample(
                "approve", value={"data": {"approved": True, "comment": "ok"}}, request_only=True
            )
        ],
    )
    def post(self, request: Request, task_id: int) -> Response:
        data = CompleteInput(data=request.data)
        data.is_valid(raise_exception=True)
        task = services.task_complete(
            task_id=task_id,
            user=request.user,
            data=data.validated_data["data"],
            actor=actor_for_request(request),
        )
        return Response(TaskOutput(task).data)
