"""Request API: the catalog of processes a user may start, their requests, cancel, comment."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from apps.accounts.requests import AuthenticatedRequest
from apps.common.actors import actor_for_request
from apps.common.api import ApiView
from apps.inbox import selectors, services
from apps.inbox.apis.tasks import CommentInput, CommentOutput


class CatalogApi(ApiView):
    class OutputSerializer(serializers.Serializer):
        key = serializers.CharField()
        name = serializers.CharField()
        category = serializers.CharField()
        description = serializers.CharField()
        version_id = serializers.IntegerField()
        version_number = serializers.IntegerField()
        start_form = serializers.JSONField(allow_null=True)

    @extend_schema(
        parameters=[OpenApiParameter("search", str)],
        responses=OutputSerializer(many=True),
        summary="Processes you may start (by role), grouped by category",
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        entries = selectors.catalog(
            user=request.user, search=request.query_params.get("search", "")
        )
        return Response(self.OutputSerializer(entries, many=True).data)


class RequestOutput(serializers.Serializer):
    id = serializers.IntegerField()
    process_key = serializers.CharField()
    process_name = serializers.CharField(source="version.definition.name")
    status = serializers.CharField()
    outcome = serializers.CharField(
        help_text="How it ended where the status does not say: rejected_by_policy, or empty"
    )
    outcome_reason = serializers.CharField(help_text="Why (a policy gate's reason), or empty")
    status_label = serializers.CharField(help_text="What a person reads: 'Rejected by policy'")
    variables = serializers.JSONField()
    created_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(allow_null=True)
    url = serializers.SerializerMethodField()

    def get_url(self, obj) -> str:
        return f"/requests/{obj.pk}/"


class RequestDetailOutput(RequestOutput):
    current_steps = serializers.SerializerMethodField()
    cancellable = serializers.SerializerMethodField()
    comments = serializers.SerializerMethodField()
    history = serializers.SerializerMethodField()

    def _state(self, obj):
        if not hasattr(obj, "_request_state"):
            obj._request_state = selectors.request_state(
                instance=obj, user=self.context.get("user")
            )
        return obj._request_state

    def get_current_steps(self, obj) -> list[dict]:
        return [
            {**step, "due_at": step["due_at"].isoformat() if step["due_at"] else None}
            for step in self._state(obj).current_steps
        ]

    def get_cancellable(self, obj) -> bool:
        return self._state(obj).cancellable

    def get_comments(self, obj) -> list[dict]:
        return list(CommentOutput(selectors.comments_of(instance_id=obj.pk), many=True).data)

    def get_history(self, obj) -> list[dict]:
        return [
            {
                "time": e.time,
                "action": e.action,
                "actor": e.actor_label,
                "on_behalf_of": e.on_behalf_of,
            }
            for e in selectors.history_of(instance_id=obj.pk)
        ]


class RequestListApi(ApiView):
    idempotent_methods = ("post",)
    paginated = True
    OutputSerializer = RequestOutput
    response_status = {"POST": 201}

    class InputSerializer(serializers.Serializer):
        process_key = serializers.CharField(max_length=200)
        data = serializers.DictField(required=False, default=dict)  # type: ignore[assignment]  # a field named like a Serializer attribute (the metaclass takes it)

    @extend_schema(parameters=[OpenApiParameter("status", str)], summary="Requests you started")
    def get(self, request: AuthenticatedRequest) -> Response:
        return self.paginated_response(
            selectors.my_requests(user=request.user, status=request.query_params.get("status", ""))
        )

    @extend_schema(
        request=InputSerializer,
        responses={201: RequestOutput},
        summary="Start a request with its start form's data (send an Idempotency-Key)",
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        data = self.validated_input()

        def start() -> Response:
            instance = services.request_start(
                user=request.user,
                process_key=data["process_key"],
                data=data["data"],
                actor=actor_for_request(request),
            )
            return Response(RequestOutput(instance).data, status=201)

        return self.idempotent("inbox.request_start", start)


class RequestDetailApi(ApiView):
    @extend_schema(responses=RequestDetailOutput, summary="One request: status, steps, history")
    def get(self, request: AuthenticatedRequest, instance_id: int) -> Response:
        instance = selectors.request_get(user=request.user, instance_id=instance_id)
        return Response(RequestDetailOutput(instance, context={"user": request.user}).data)


class RequestCancelApi(ApiView):
    @extend_schema(request=None, responses=RequestOutput, summary="Withdraw your request")
    def post(self, request: AuthenticatedRequest, instance_id: int) -> Response:
        instance = services.request_cancel(
            instance_id=instance_id, user=request.user, actor=actor_for_request(request)
        )
        return Response(RequestOutput(instance).data)


class RequestCommentApi(ApiView):
    InputSerializer = CommentInput

    @extend_schema(
        request=CommentInput, responses={201: CommentOutput}, summary="Comment on a request"
    )
    def post(self, request: AuthenticatedRequest, instance_id: int) -> Response:
        instance = selectors.request_get(user=request.user, instance_id=instance_id, to_write=True)
        data = self.validated_input()
        comment = services.comment_add(
            instance=instance,
            user=request.user,
            body=data["body"],
            actor=actor_for_request(request),
        )
        return Response(CommentOutput(comment).data, status=201)
