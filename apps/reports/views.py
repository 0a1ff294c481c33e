"""Report pages. Thin: parse the filters, call one selector or service, render."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.accounts.roles import Role
from apps.audit.services import Actor
from apps.common.errors import FlowgateError
from apps.common.pages import paginate, role_required, run_action
from apps.engine import selectors as engine_selectors
from apps.engine import services as engine_services
from apps.reports.exports import TABLES
from apps.reports.filters import ReportFilters
from apps.reports.metrics import CONTENT_TYPE, exposition, scrape_allowed
from apps.reports.selectors import sla_dashboard

REPORT_ROLES = (Role.AUDITOR, Role.ADMIN, Role.MANAGER)
OPERATOR_ROLES = (Role.ADMIN, Role.MANAGER)


def _filters(request: HttpRequest) -> ReportFilters:
    try:
        return ReportFilters.parse(request.GET)
    except FlowgateError as exc:
        messages.error(request, exc.message)
        return ReportFilters.parse({})


@role_required(*REPORT_ROLES)
def index(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "reports/index.html",
        {"open_incidents": engine_selectors.incident_list().count()},
    )


@role_required(*REPORT_ROLES)
def sla(request: HttpRequest) -> HttpResponse:
    filters = _filters(request)
    report = sla_dashboard(
        period=filters.period,
        process_key=filters.process_key,
        risk_hours=filters.risk_hours,
        bucket=filters.bucket,
    )
    query = urlencode(
        {
            "process_key": filters.process_key,
            "since": filters.period.since.isoformat(),
            "until": filters.period.until.isoformat(),
            "risk_hours": f"{filters.risk_hours:g}",
            "bucket": filters.bucket,
        }
    )
    csv_urls = {table: f"{reverse('api-report-sla-csv', args=[table])}?{query}" for table in TABLES}
    return render(
        request,
        "reports/sla.html",
        {"report": report, "filters": filters, "csv": csv_urls, "query": query},
    )


@role_required(*REPORT_ROLES)
def incidents(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "open")
    if status not in ("open", "retried", "resolved", ""):
        status = "open"
    return render(
        request,
        "reports/incidents.html",
        {
            "page": paginate(request, engine_selectors.incident_list(status=status)),
            "status": status,
            "can_retry": request.user.has_role(*OPERATOR_ROLES),
        },
    )


@role_required(*OPERATOR_ROLES)
@require_POST
def incident_retry(request: HttpRequest, incident_id: int) -> HttpResponse:
    actor = Actor.for_user(request.user)
    return run_action(
        request,
        lambda: engine_services.incident_retry(incident_id=incident_id, actor=actor),
        success=f"Incident {incident_id}: the step is scheduled again.",
        back=reverse("reports:incidents"),
    )


def metrics(request: HttpRequest) -> HttpResponse:
    """GET /metrics for Prometheus: a bearer token or an allowed network (reports.metrics)."""
    if not scrape_allowed(
        remote_addr=request.META.get("REMOTE_ADDR", ""),
        authorization=request.META.get("HTTP_AUTHORIZATION", ""),
    ):
        return HttpResponse(
            "Metrics need the bearer token (FLOWGATE_METRICS_TOKEN) or an allowed network "
            "(FLOWGATE_METRICS_ALLOWED_NETWORKS).\n",
            status=403,
            content_type="text/plain; charset=utf-8",
        )
    return HttpResponse(exposition(), content_type=CONTENT_TYPE)
