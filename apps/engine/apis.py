"""Instances, messages and incidents over HTTP. Thin: parse, check access, call one service."""

from __future__ import annotations

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.permissions import has_role
from apps.accounts.roles import Role
from apps.common import tracing
from apps.common.actors import actor_for_request
from apps.common.api import ApiView
from apps.common.api_queries import validated_query
from apps.common.errors import AccessDenied
from apps.engine import operator_services, selectors, services, webhooks
from apps.engine.models import Incident, InstanceOutcome, InstanceStatus, ProcessInstance
from apps.processes.selectors import version_get


class InstanceOutput(serializers.ModelSerializer):
    version_number = serializers.IntegerField(source="version.number")
    started_by = serializers.CharField(source="started_by.username", allow_null=True, default=None)
    status_label = serializers.CharField(
        read_only=True, help_text="'Rejected by policy' for that outcome, else the status's label"
    )
    trace_url = serializers.SerializerMethodField(
        help_text="The trace in the tracing backend (FLOWGATE_TRACE_URL_TEMPLATE); empty if unset"
    )

    class Meta:
        model = ProcessInstance
        fields = [
            "id",
            "process_key",
            "version_id",
            "version_number",
            "business_key",
            "status",
            "outcome",
            "outcome_reason",
            "status_label",
            "variables",
            "started_by",
            "created_at",
            "updated_at",
            "ended_at",
            "trace_id",
            "trace_url",
        ]

    def get_trace_url(self, obj) -> str:
        return tracing.trace_url(obj.trace_id)


class InstanceDetailOutput(InstanceOutput):
    activity = serializers.SerializerMethodField()

    class Meta(InstanceOutput.Meta):
        fields = [*InstanceOutput.Meta.fields, "activity"]

    def get_activity(self, obj) -> dict:
        return selectors.instance_activity(instance=obj)


class StartInput(serializers.Serializer):
    process_key = serializers.CharField(required=False, max_length=200)
    version_id = serializers.IntegerField(required=False)
    variables = serializers.DictField(required=False, default=dict)
    business_key = serializers.CharField(
        required=False, default="", allow_blank=True, max_length=200
    )

    def validate(self, attrs):
        if not attrs.get("process_key") and not attrs.get("version_id"):
            raise serializers.ValidationError(
                "Give process_key (latest deployed version) or version_id."
            )
        return attrs


class InstanceListQuery(serializers.Serializer):
    status = serializers.ChoiceField(choices=InstanceStatus.values, allow_blank=True, default="")
    process_key = serializers.CharField(required=False, default="")
    business_key = serializers.CharField(required=False, default="")
    outcome = serializers.ChoiceField(
        choices=InstanceOutcome.values, allow_blank=True, default="", help_text="rejected_by_policy"
    )


class InstanceListApi(ApiView):
    paginated = True
    OutputSerializer = InstanceOutput

    @extend_schema(parameters=[InstanceListQuery], summary="List instances visible to you")
    def get(self, request: Request) -> Response:
        query = validated_query(InstanceListQuery, request.query_params)
        qs = selectors.instance_list(
            user=request.user,
            status=query["status"],
            process_key=query["process_key"],
            business_key=query["business_key"],
            outcome=query["outcome"],
        )
        return self.paginated_response(qs)

    @extend_schema(
        request=StartInput,
        responses={201: InstanceDetailOutput},
        summary="Start an instance (send Idempotency-Key to make retries safe)",
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)],
        examples=[
            OpenApiExample(
                "start",
                value={
                    "process_key": "invoice",
                    "business_key": "INV-1",
                    "variables": {"amount": 1200},
                },
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        data = self.validated_input(serializer=StartInput)

        def start() -> Response:
            version = version_get(version_id=data["version_id"]) if data.get("version_id") else None
            instance = services.instance_start(
                version=version,
                process_key=data.get("process_key"),
                variables=data["variables"],
                business_key=data["business_key"],
                actor=actor_for_request(request),
                started_by=request.user,
            )
            return Response(InstanceDetailOutput(instance).data, status=status.HTTP_201_CREATED)

        return self.idempotent("instance-start", start)


class InstanceDetailApi(ApiView):
    @extend_schema(responses=InstanceDetailOutput, summary="One instance with what it waits on")
    def get(self, request: Request, instance_id: int) -> Response:
        return Response(
            InstanceDetailOutput(
                selectors.instance_get(user=request.user, instance_id=instance_id)
            ).data
        )


class _InstanceOperation(ApiView):
    operation = ""

    def operable(self, request: Request, instance_id: int) -> ProcessInstance:
        instance = selectors.instance_get(user=request.user, instance_id=instance_id)
        operator_services.instance_operator_check(
            user=request.user, instance=instance, doing=f"{self.operation} this instance"
        )
        return instance

    @extend_schema(request=None, responses=InstanceOutput)
    def post(self, request: Request, instance_id: int) -> Response:
        instance = self.operable(request, instance_id)
        service = {
            "suspend": services.instance_suspend,
            "resume": services.instance_resume,
        }[self.operation]
        instance = service(instance_id=instance.pk, actor=actor_for_request(request))
        return Response(InstanceOutput(instance).data)


class CancelInput(serializers.Serializer):
    compensate = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Undo the completed compensable work first (newest first); the instance ends "
        "cancelled when the last compensation handler finished (decision 034).",
    )
    reason = serializers.CharField(required=False, default="", allow_blank=True, max_length=500)


class CompensationDone(serializers.Serializer):
    undoing = serializers.ListField(
        child=serializers.CharField(),
        help_text="Names of the completed steps being undone, newest first; empty: the instance "
        "had nothing to undo and is cancelled",
    )
    resumed = serializers.BooleanField(
        help_text="The instance was suspended and runs again so that its handlers can"
    )
    summary = serializers.CharField()


class CancelOutput(InstanceOutput):
    compensation = serializers.SerializerMethodField(
        help_text="With compensate=true: what the cancel did (null otherwise)"
    )

    class Meta(InstanceOutput.Meta):
        fields = [*InstanceOutput.Meta.fields, "compensation"]

    @extend_schema_field(CompensationDone(allow_null=True))
    def get_compensation(self, instance: ProcessInstance) -> dict | None:
        done = self.context.get("compensation")
        if done is None:
            return None
        return {"undoing": list(done.undoing), "resumed": done.resumed, "summary": done.summary()}


class InstanceCancelApi(_InstanceOperation):
    operation = "cancel"

    @extend_schema(
        request=CancelInput,
        responses=CancelOutput,
        summary="Cancel a running or suspended instance, optionally with compensation "
        "(body may be empty)",
    )
    def post(self, request: Request, instance_id: int) -> Response:
        instance = self.operable(request, instance_id)
        data = self.validated_input(serializer=CancelInput)
        actor = actor_for_request(request)
        if not data["compensate"]:
            instance = services.instance_cancel(
                instance_id=instance.pk, actor=actor, reason=data["reason"]
            )
            return Response(CancelOutput(instance).data)
        done = services.instance_cancel_with_compensation(
            instance_id=instance.pk, actor=actor, reason=data["reason"]
        )
        return Response(CancelOutput(done.instance, context={"compensation": done}).data)


class InstanceSuspendApi(_InstanceOperation):
    operation = "suspend"


class InstanceResumeApi(_InstanceOperation):
    operation = "resume"


class MessageInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    correlation_key = serializers.CharField(
        required=False, default="", allow_blank=True, max_length=200
    )
    variables = serializers.DictField(required=False, default=dict)


class MessageApi(ApiView):
    @extend_schema(
        request=MessageInput,
        responses={200: serializers.ListSerializer(child=serializers.IntegerField())},
        summary="Correlate a message to waiting instances or message start events",
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)],
    )
    def post(self, request: Request) -> Response:
        data = self.validated_input(serializer=MessageInput)

        def correlate() -> Response:
            instances = services.message_correlate(
                name=data["name"],
                correlation_key=data["correlation_key"],
                variables=data["variables"],
                actor=actor_for_request(request),
                started_by=request.user,
            )
            return Response({"instances": [i.pk for i in instances]})

        return self.idempotent("message-correlate", correlate)


class IncidentOutput(serializers.ModelSerializer):
    process_key = serializers.CharField(source="instance.process_key")

    class Meta:
        model = Incident
        fields = [
            "id",
            "instance_id",
            "process_key",
            "job_id",
            "activity_id",
            "kind",
            "message",
            "stack",
            "status",
            "created_at",
            "resolved_at",
        ]


class IncidentListQuery(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=["open", "retried", "resolved"],
        allow_blank=True,
        default="open",
        help_text="open (the default), retried or resolved; empty: all",
        error_messages={"invalid_choice": "status must be open, retried or resolved."},
    )


class IncidentListApi(ApiView):
    paginated = True
    OutputSerializer = IncidentOutput

    @extend_schema(parameters=[IncidentListQuery], summary="Incidents (failed steps)")
    def get(self, request: Request) -> Response:
        if not has_role(request.user, Role.ADMIN, Role.MANAGER, Role.AUDITOR):
            raise AccessDenied("Incidents are visible to admins, managers and auditors.")
        status_filter = validated_query(IncidentListQuery, request.query_params)["status"]
        return self.paginated_response(selectors.incident_list(status=status_filter))


class IncidentRetryApi(ApiView):
    @extend_schema(
        request=None, responses=IncidentOutput, summary="Retry the failed job of an incident"
    )
    def post(self, request: Request, incident_id: int) -> Response:
        if not has_role(request.user, Role.ADMIN, Role.MANAGER):
            raise AccessDenied("Only admins and managers can retry incidents.")
        incident = services.incident_retry(
            incident_id=incident_id, actor=actor_for_request(request)
        )
        return Response(IncidentOutput(incident).data)


class WebhookReceiveApi(ApiView):
    """Public endpoint: authenticated by the HMAC signature, not by a session or token."""

    authentication_classes: list = []
    permission_classes: list = []
    parser_classes: list = []

    @extend_schema(
        request={"application/json": {"type": "object"}},
        responses={
            200: inline_serializer(
                "WebhookAccepted",
                {
                    "instances": serializers.ListField(child=serializers.IntegerField()),
                    "replayed": serializers.BooleanField(),
                },
            )
        },
        summary="Deliver an event (X-Flowgate-Signature, X-Flowgate-Timestamp, X-Flowgate-Delivery)",
        description=(
            '`X-Flowgate-Signature: v2=<hex HMAC-SHA256(secret, "<timestamp>.<delivery id>." + '
            "body)>`; the timestamp (Unix seconds) may be at most 300 s away. The same delivery "
            "id with the same body replays the first answer; with another body it is refused "
            "(422 `delivery_id_reused`). The older `sha256=` signature over "
            '`"<timestamp>." + body` is still accepted; its signed content sent again under a '
            "new delivery id is refused (409 `delivery_replayed`). See docs/api.md."
        ),
        auth=[],
    )
    def post(self, request: Request, webhook_id: int) -> Response:
        delivery = webhooks.webhook_receive(
            trigger_id=webhook_id, body=request.body, headers=request.headers
        )
        return Response({"instances": delivery.instance_ids, "replayed": delivery.replayed})
