"""GET /api/v1/: the API's index (what is here, where the schema and the docs are)."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from apps.common.api import ApiView

# (name, URL name, what it is): the entry points; each lists or leads to the rest.
RESOURCES = (
    ("me", "api-me", "the signed-in user and their roles"),
    ("tokens", "api-tokens", "your API tokens"),
    ("processes", "api-processes", "process definitions, deploy, import, versions, webhooks"),
    ("instances", "api-instances", "running and finished instances"),
    ("messages", "api-messages", "POST only: send a message to waiting or starting processes"),
    ("incidents", "api-incidents", "failed steps waiting for an operator"),
    ("tasks", "api-tasks", "your inbox: claim, complete, approve, reject, delegate"),
    ("requests", "api-requests", "requests you started"),
    ("request_catalog", "api-request-catalog", "processes you may start"),
    ("substitutions", "api-substitutions", "who stands in for whom"),
    ("connectors", "connector-list", "registered connectors and their inputs"),
    ("secrets", "secret-list", "encrypted connector secrets (admin)"),
    ("audit_events", "api-audit-events", "the audit trail (auditor, admin)"),
    ("audit_verify", "api-audit-verify", "POST only: verify the audit chain"),
    ("reports_sla", "api-report-sla", "SLA report"),
    ("reports_slo", "api-report-slo", "service level objectives"),
)

_Link = inline_serializer(
    "ApiIndexLink", {"url": serializers.CharField(), "description": serializers.CharField()}
)


class ApiRootApi(ApiView):
    """Public: the index carries no data, only addresses (the usual authentication still runs,
    so a session's write would still need its CSRF token; a GET needs none)."""

    permission_classes = [AllowAny]

    @extend_schema(
        summary="The API's index: its resources, the OpenAPI schema and the docs",
        auth=[],
        responses={
            200: inline_serializer(
                "ApiIndex",
                {
                    "version": serializers.CharField(),
                    "schema": serializers.CharField(),
                    "docs": serializers.CharField(),
                    "guide": serializers.CharField(),
                    "authentication": serializers.CharField(),
                    "resources": serializers.DictField(child=_Link),
                },
            )
        },
    )
    def get(self, request: Request) -> Response:
        def absolute(name: str) -> str:
            return request.build_absolute_uri(reverse(name))

        return Response(
            {
                "version": "1",
                "schema": absolute("api-schema"),
                "docs": absolute("api-docs"),
                "guide": "docs/api.md in the Flowgate repository",
                "authentication": "Authorization: Token <key> (create keys on your profile page), "
                "or the session cookie of a signed-in browser.",
                "resources": {
                    key: {"url": absolute(name), "description": description}
                    for key, name, description in RESOURCES
                },
            }
        )
