"""Webhooks of a process: list, attach one to a message start event, turn one off."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from apps.common.api import ApiView
from apps.processes import selectors
from apps.processes.apis.common import require_designer
from apps.processes.webhooks import webhook_create, webhook_deactivate


class WebhookInput(serializers.Serializer):
    message_name = serializers.CharField(max_length=200)
    name = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class WebhookOutput(serializers.Serializer):
    id = serializers.IntegerField()
    process_key = serializers.CharField(source="definition.key")
    message_name = serializers.CharField()
    name = serializers.CharField()
    active = serializers.BooleanField()
    url = serializers.SerializerMethodField()

    def get_url(self, obj) -> str:
        request = self.context.get("request")
        path = f"/api/v1/hooks/{obj.pk}/"
        return request.build_absolute_uri(path) if request else path


class ProcessWebhooksApi(ApiView):
    paginated = True
    OutputSerializer = WebhookOutput

    @extend_schema(summary="Webhooks of a process")
    def get(self, request: Request, key: str) -> Response:
        require_designer(request)
        return self.paginated_response(selectors.webhooks_of(key=key))

    @extend_schema(
        request=WebhookInput,
        responses={
            201: inline_serializer(
                "WebhookCreated", {"webhook": WebhookOutput(), "secret": serializers.CharField()}
            )
        },
        summary="Attach a webhook to a message start event; the secret is shown once",
    )
    def post(self, request: Request, key: str) -> Response:
        require_designer(request)
        data = WebhookInput(data=request.data)
        data.is_valid(raise_exception=True)
        trigger, secret = webhook_create(
            process_key=key,
            message_name=data.validated_data["message_name"],
            name=data.validated_data["name"],
            user=request.user,
        )
        body = {
            "webhook": WebhookOutput(trigger, context={"request": request}).data,
            "secret": secret,
        }
        return Response(body, status=status.HTTP_201_CREATED)


class WebhookDeactivateApi(ApiView):
    @extend_schema(request=None, responses=WebhookOutput, summary="Turn a webhook off")
    def delete(self, request: Request, webhook_id: int) -> Response:
        require_designer(request)
        trigger = webhook_deactivate(trigger_id=webhook_id, user=request.user)
        return Response(WebhookOutput(trigger, context={"request": request}).data)
