"""Task API: the list (same filters as the inbox page), the live feed, one task and what
people do with it (claim, hand over, complete, bulk approve, comments, attachments)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from apps.accounts.requests import AuthenticatedRequest
from apps.common.actors import actor_for_request
from apps.common.api import ApiView
from apps.common.errors import InvalidInput
from apps.inbox import selectors, services
from apps.inbox.apis.params import int_param
from apps.inbox.models import HumanTask, TaskStatus
from apps.inbox.paging import capped


class TaskOutput(serializers.ModelSerializer):
    assignee = serializers.CharField(source="assignee.username", allow_null=True, default=None)
    owner = serializers.CharField(source="owner.username", allow_null=True, default=None)
    on_behalf_of = serializers.CharField(
        source="on_behalf_of.username", allow_null=True, default=None
    )
    business_key = serializers.CharField(source="instance.business_key")
    requester = serializers.CharField(
        source="requested_by.username",
        allow_null=True,
        default=None,
        help_text="Who started the request",
    )
    process_name = serializers.CharField(read_only=True, help_text="The process's name")
    summary = serializers.CharField(
        read_only=True,
        help_text="The model's summary line over the request's data (flowgate:summary), "
        "else the business key",
    )
    approvals_so_far = serializers.SerializerMethodField()

    class Meta:
        model = HumanTask
        fields = [
            "id",
            "instance_id",
            "process_key",
            "process_name",
            "business_key",
            "requester",
            "summary",
            "activity_id",
            "name",
            "status",
            "assignee",
            "owner",
            "delegation",
            "on_behalf_of",
            "candidate_groups",
            "candidate_users",
            "priority",
            "due_at",
            "sla_warning_at",
            "sla_breach_at",
            "escalated_at",
            "info_question",
            "paused_at",
            "paused_seconds",
            "is_approval",
            "comment_required_on_reject",
            "approvals_needed",
            "approvals_so_far",
            "outcome",
            "created_at",
            "completed_at",
        ]

    def get_approvals_so_far(self, obj) -> int | None:
        progress = self.context.get("progress")
        if not obj.approvals_needed:
            return None
        if progress is None:
            progress = selectors.approval_progress([obj])
        return progress.get((obj.instance_id, obj.activity_id), 0)

    def to_representation(self, obj) -> dict:
        """Built by hand, field for field as declared above (the declarations are the schema):
        a 50-row page through DRF's per-field machinery cost more than its query."""
        when = _datetime_text()
        if hasattr(obj, "business_key"):  # a list row (selectors.inbox_list)
            refs = (obj.business_key, obj.assignee_name, obj.owner_name, obj.on_behalf_of_name)
            about = (obj.requester_name, obj.process_name or obj.process_key, obj.summary)
        else:
            refs = (
                obj.instance.business_key,
                obj.assignee.username if obj.assignee_id else None,
                obj.owner.username if obj.owner_id else None,
                obj.on_behalf_of.username if obj.on_behalf_of_id else None,
            )
            about = (
                obj.requested_by.username if obj.requested_by_id else None,
                *selectors.task_describe(obj),
            )
        return {
            "id": obj.pk,
            "instance_id": obj.instance_id,
            "process_key": obj.process_key,
            "process_name": about[1],
            "business_key": refs[0],
            "requester": about[0],
            "summary": about[2],
            "activity_id": obj.activity_id,
            "name": obj.name,
            "status": obj.status,
            "assignee": refs[1],
            "owner": refs[2],
            "delegation": obj.delegation,
            "on_behalf_of": refs[3],
            "candidate_groups": obj.candidate_groups,
            "candidate_users": obj.candidate_users,
            "priority": obj.priority,
            "due_at": when(obj.due_at) if obj.due_at else None,
            "sla_warning_at": when(obj.sla_warning_at) if obj.sla_warning_at else None,
            "sla_breach_at": when(obj.sla_breach_at) if obj.sla_breach_at else None,
            "escalated_at": when(obj.escalated_at) if obj.escalated_at else None,
            "info_question": obj.info_question,
            "paused_at": when(obj.paused_at) if obj.paused_at else None,
            "paused_seconds": obj.paused_seconds,
            "is_approval": obj.is_approval,
            "comment_required_on_reject": obj.comment_required_on_reject,
            "approvals_needed": obj.approvals_needed,
            "approvals_so_far": self.get_approvals_so_far(obj),
            "outcome": obj.outcome,
            "created_at": when(obj.created_at) if obj.created_at else None,
            "completed_at": when(obj.completed_at) if obj.completed_at else None,
        }


_DATETIME = serializers.DateTimeField()


def _datetime_text() -> Callable[[datetime], str]:
    """DRF's ``DateTimeField().to_representation`` (ISO 8601 in the current time zone, ``Z`` for
    UTC) for one row, with the time zone looked up once instead of per value (through DRF's
    field, 150 values on a 50-row page cost a sixth of the API's time)."""
    zone = timezone.get_current_timezone()

    def text(value: datetime) -> str:
        if value.tzinfo is None:  # not from our database (aware): DRF's own rules
            return _DATETIME.to_representation(value)
        iso = value.astimezone(zone).isoformat()
        return iso[:-6] + "Z" if iso.endswith("+00:00") else iso

    return text


class TaskDetailOutput(TaskOutput):
    variables = serializers.JSONField(source="instance.variables")

    class Meta(TaskOutput.Meta):
        fields = [*TaskOutput.Meta.fields, "documentation", "form", "data", "variables"]

    def to_representation(self, obj) -> dict:
        return {
            **super().to_representation(obj),
            "documentation": obj.documentation,
            "form": obj.form,
            "data": obj.data,
            "variables": obj.instance.variables,
        }


class TaskListQuery(serializers.Serializer):
    """The task list's query parameters. ``view`` and ``sort`` are checked by the selector (one
    message for the page and the API); ``status`` by the view, with its own message."""

    view = serializers.CharField(
        required=False, default="all", help_text="One of: " + ", ".join(selectors.VIEWS)
    )
    sort = serializers.CharField(
        required=False, default="newest", help_text="One of: " + ", ".join(selectors.SORTS)
    )
    search = serializers.CharField(required=False, default="", allow_blank=True)
    mine = serializers.CharField(
        required=False, default="", allow_blank=True, help_text="1, true or yes: same as view=mine"
    )
    status = serializers.CharField(
        required=False, default=TaskStatus.OPEN, help_text="open, completed or cancelled"
    )


class TaskCountsOut(serializers.Serializer):
    """How many tasks each inbox view holds, capped at 100 each."""

    all = serializers.IntegerField()
    mine = serializers.IntegerField()
    roles = serializers.IntegerField()
    delegated = serializers.IntegerField()
    overdue = serializers.IntegerField()
    at_risk = serializers.IntegerField()


class TaskListApi(ApiView):
    OutputSerializer = TaskOutput
    paginated = True

    @extend_schema(
        parameters=[TaskListQuery],
        responses=TaskOutput(many=True),
        summary="Tasks offered to you (your roles, you by name) or assigned to you",
        description="`count` is exact when the list ends on the requested page; otherwise it is "
        "a lower bound (the rows so far and one more, so `next` is set): counting every visible "
        "task of a large inbox would cost more than the page.",
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        query = self.validated_input(request.query_params, serializer=TaskListQuery)
        if query["status"] not in TaskStatus.values:
            raise InvalidInput(
                "status must be open, completed or cancelled.", code="invalid_filter"
            )
        qs = selectors.inbox_list(
            user=request.user,
            view=query["view"],
            sort=query["sort"],
            mine=query["mine"] in ("1", "true", "yes"),
            search=query["search"],
            status=query["status"],
        )
        paginator = self.pagination_class()
        size = paginator.get_page_size(request)
        page = paginator.paginate_queryset(
            capped(selectors.list_rows(qs), page=request.query_params.get("page"), page_size=size),
            request,
            view=self,
        )
        selectors.rows_describe(page)  # process names and summary lines
        context = {**self.get_serializer_context(), "progress": selectors.approval_progress(page)}
        return paginator.get_paginated_response(TaskOutput(page, many=True, context=context).data)


class TaskCountsApi(ApiView):
    @extend_schema(
        responses=TaskCountsOut, summary="Count badges of the inbox views (capped at 100)"
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        return Response(selectors.inbox_counts(user=request.user))


class TaskEventsApi(ApiView):
    class OutputSerializer(serializers.Serializer):
        last = serializers.IntegerField()
        events = serializers.ListField(child=serializers.DictField())

    @extend_schema(
        parameters=[OpenApiParameter("since", int, description="Last event id you saw")],
        responses=OutputSerializer,
        summary="Live feed: task changes that concern you after event `since`",
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        if "since" not in request.query_params:
            return Response({"last": selectors.last_event_id(), "events": []})
        last, events = selectors.events_since(user=request.user, since=int_param(request, "since"))
        return Response({"last": last, "events": events})


class TaskDetailApi(ApiView):
    @extend_schema(responses=TaskDetailOutput, summary="One task with its form and data")
    def get(self, request: AuthenticatedRequest, task_id: int) -> Response:
        task = selectors.task_get_for_user(user=request.user, task_id=task_id)
        return Response(TaskDetailOutput(task).data)


class TaskActionApi(ApiView):
    # A POST on one task (claim, hand over, complete, ask, answer): validate the nested
    # ``InputSerializer`` when there is one, call ``service`` with the task id, the user, the
    # actor and ``service_arguments(...)`` (the input's fields by default), answer the task
    # through ``OutputSerializer``. Each subclass names its service and documents itself with a
    # class-level ``@extend_schema``. A comment, not a docstring: the OpenAPI description of a
    # view without a docstring is the nearest one up its classes (ApiView's), and it stays so.

    OutputSerializer: type[BaseSerializer] = TaskOutput

    service: Callable[..., HumanTask]  # set by each subclass (a staticmethod)

    def service_arguments(self, request: AuthenticatedRequest, data: dict) -> dict[str, Any]:
        return dict(data)

    def post(self, request: AuthenticatedRequest, task_id: int) -> Response:
        data = self.validated_input() if self.InputSerializer is not None else {}
        task = self.service(
            task_id=task_id,
            user=request.user,
            actor=actor_for_request(request),
            **self.service_arguments(request, data),
        )
        return Response(self.OutputSerializer(task).data)


@extend_schema(request=None, responses=TaskOutput, summary="Claim a task")
class TaskClaimApi(TaskActionApi):
    service = staticmethod(services.task_claim)


@extend_schema(request=None, responses=TaskOutput, summary="Give a claimed task back")
class TaskUnclaimApi(TaskActionApi):
    service = staticmethod(services.task_unclaim)


class UserInput(serializers.Serializer):
    username = serializers.CharField(max_length=150)


class PersonOutput(serializers.Serializer):
    username = serializers.CharField()
    name = serializers.CharField(source="get_full_name")


class TaskEligiblePeopleApi(ApiView):
    @extend_schema(
        responses=PersonOutput(many=True),
        summary="Who the task may be delegated or reassigned to (the page's picker)",
    )
    def get(self, request: AuthenticatedRequest, task_id: int) -> Response:
        task = selectors.task_get_for_user(user=request.user, task_id=task_id)
        people = selectors.task_eligibility(task).people() if task.status == TaskStatus.OPEN else []
        return Response(PersonOutput(people, many=True).data)


class _HandOverApi(TaskActionApi):
    """Delegate and reassign: the same input, the same answer, one service each."""

    InputSerializer = UserInput

    def service_arguments(self, request: AuthenticatedRequest, data: dict) -> dict[str, Any]:
        return {"to_username": data["username"]}


@extend_schema(
    request=UserInput,
    responses=TaskOutput,
    summary="Delegate: the task returns to you once the delegate resolves it",
)
class TaskDelegateApi(_HandOverApi):
    service = staticmethod(services.task_delegate)


@extend_schema(request=UserInput, responses=TaskOutput, summary="Move a task to another user")
class TaskReassignApi(_HandOverApi):
    service = staticmethod(services.task_reassign)


@extend_schema(
    responses={200: TaskOutput},
    summary="Complete (approve / reject) a task; a second completion answers 409",
)
class TaskCompleteApi(TaskActionApi):
    class InputSerializer(serializers.Serializer):
        data = serializers.DictField(  # type: ignore[assignment]  # a field named like a Serializer attribute (the metaclass takes it)
            required=False, default=dict, help_text="Form values; approvals need approved"
        )

    service = staticmethod(services.task_complete)


class BulkApproveApi(ApiView):
    class InputSerializer(serializers.Serializer):
        task_ids = serializers.ListField(
            child=serializers.IntegerField(min_value=1), min_length=1, max_length=100
        )
        comment = serializers.CharField(
            required=False, default="", allow_blank=True, max_length=4000
        )

    class OutputSerializer(serializers.Serializer):
        task_id = serializers.IntegerField()
        ok = serializers.BooleanField()
        message = serializers.CharField()

    @extend_schema(
        request=InputSerializer,
        responses=OutputSerializer(many=True),
        summary="Approve several tasks that need no form input, each checked on its own",
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        data = self.validated_input()
        results = services.tasks_bulk_approve(
            task_ids=data["task_ids"],
            user=request.user,
            comment=data["comment"],
            actor=actor_for_request(request),
        )
        return Response(self.OutputSerializer(results, many=True).data)


class CommentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    author = serializers.CharField(source="author.username", allow_null=True, default=None)
    task_id = serializers.IntegerField(allow_null=True)
    body = serializers.CharField()
    created_at = serializers.DateTimeField()


class CommentInput(serializers.Serializer):
    body = serializers.CharField(max_length=4000, allow_blank=True)


class AttachmentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    uploaded_by = serializers.CharField(
        source="uploaded_by.username", allow_null=True, default=None
    )
    task_id = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()


class TaskCommentApi(ApiView):
    InputSerializer = CommentInput

    @extend_schema(
        request=CommentInput, responses={201: CommentOutput}, summary="Comment on a task"
    )
    def post(self, request: AuthenticatedRequest, task_id: int) -> Response:
        task = selectors.task_get_for_user(user=request.user, task_id=task_id)
        data = self.validated_input()
        comment = services.comment_add(
            instance=task.instance,
            task=task,
            user=request.user,
            body=data["body"],
            actor=actor_for_request(request),
        )
        return Response(CommentOutput(comment).data, status=201)


class TaskAttachmentApi(ApiView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
            }
        },
        responses={201: AttachmentOutput},
        summary="Attach a file to a task (size and type limited)",
    )
    def post(self, request: AuthenticatedRequest, task_id: int) -> Response:
        task = selectors.task_get_for_user(user=request.user, task_id=task_id)
        attachment = services.attachment_add(
            instance=task.instance,
            task=task,
            user=request.user,
            upload=request.FILES.get("file"),
            actor=actor_for_request(request),
        )
        return Response(AttachmentOutput(attachment).data, status=201)
