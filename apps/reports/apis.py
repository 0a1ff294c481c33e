from __future__ import annotations

from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import has_role
from apps.accounts.roles import Role
from apps.common.errors import AccessDenied, InvalidInput
from apps.reports.selectors import sla_report

REPORT_ROLES = (Role.AUDITOR, Role.ADMIN, Role.MANAGER)


def parse_since(raw: str | None):
    if not raw:
        return None
    value = parse_datetime(raw)
    if value is None or value.tzinfo is None:
        raise InvalidInput(
            "since must be an ISO 8601 date-time with a time zone, e.g. 2026-01-31T00:00:00Z.",
            code="invalid_filter",
        )
    return value


class SlaReportApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("process_key", str), OpenApiParameter("since", str)],
        responses={200: dict},
        summary="SLA figures: cycle times per process, durations and backlog per activity",
    )
    def get(self, request: Request) -> Response:
        if not has_role(request.user, *REPORT_ROLES):
            raise AccessDenied("SLA reports are for auditors, managers and admins.")
        report = sla_report(
            process_key=request.query_params.get("process_key", "").strip(),
            since=parse_since(request.query_params.get("since")),
        )
        return Response(report)
