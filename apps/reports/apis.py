"""Report figures over HTTP: every number on the report pages, as JSON (and CSV)."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.roles import Role
from apps.common.api import ApiView, HasRole
from apps.common.errors import NotFound
from apps.reports.exports import TABLES, csv_text
from apps.reports.filters import ReportFilters
from apps.reports.selectors import sla_dashboard

REPORT_ROLES = (Role.AUDITOR, Role.ADMIN, Role.MANAGER)

FILTER_PARAMETERS = [
    OpenApiParameter("process_key", str, description="One process (default: all)"),
    OpenApiParameter(
        "since", str, description="Date or ISO date-time with zone (default: 30 days ago)"
    ),
    OpenApiParameter("until", str, description="Date (inclusive) or ISO date-time (default: now)"),
    OpenApiParameter(
        "risk_hours",
        float,
        description="Open tasks breaching within this many hours are at risk (default 4)",
    ),
    OpenApiParameter("bucket", str, enum=["day", "hour"], description="Throughput bucket"),
]


def dashboard_for(query) -> dict:
    filters = ReportFilters.parse(query)
    return sla_dashboard(
        period=filters.period,
        process_key=filters.process_key,
        risk_hours=filters.risk_hours,
        bucket=filters.bucket,
    )


class SlaReportApi(ApiView):
    permission_classes = [IsAuthenticated, HasRole(*REPORT_ROLES)]

    @extend_schema(
        parameters=FILTER_PARAMETERS,
        responses={200: dict},
        summary="SLA dashboard: per process and activity counts, duration/waiting/working "
        "percentiles, SLA met/warned/breached, open tasks at risk, throughput, workload, escalations",
    )
    def get(self, request: Request) -> Response:
        return Response(dashboard_for(request.query_params))


class SlaReportCsvApi(ApiView):
    permission_classes = [IsAuthenticated, HasRole(*REPORT_ROLES)]

    @extend_schema(
        parameters=FILTER_PARAMETERS,
        responses={(200, "text/csv"): str},
        summary="One SLA dashboard table as CSV",
    )
    def get(self, request: Request, table: str) -> HttpResponse:
        if table not in TABLES:
            raise NotFound(
                f"No table {table!r}; choose one of {', '.join(TABLES)}.", code="unknown_table"
            )
        return csv_response(
            csv_text(dashboard_for(request.query_params), table), f"sla-{table}.csv"
        )


def csv_response(text: str, filename: str) -> HttpResponse:
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
