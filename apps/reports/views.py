"""Report pages. Thin: parse the filters, call one selector or service, render."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_POST

from apps.accounts.requests import AuthenticatedHttpRequest
from apps.accounts.roles import Role
from apps.common.actors import Actor
from apps.common.errors import FlowgateError, InvalidInput
from apps.common.pages import paginate, role_required, run_action
from apps.engine import operator_services
from apps.engine import selectors as engine_selectors
from apps.engine import services as engine_services
from apps.engine.models import InstanceStatus, ProcessInstance
from apps.engine.operator_services import OPERATOR_ROLES
from apps.inbox.model_rules import rules_for_version
from apps.processes.models import ProcessVersion, VersionStatus
from apps.reports import console
from apps.reports.exports import TABLES
from apps.reports.forms import (
    HeatmapForm,
    IncidentListForm,
    IncidentsRetryForm,
    InstanceActionForm,
    InstanceSearchForm,
    ReportFilterForm,
    SloForm,
    VariableSetForm,
    value_type,
)
from apps.reports.metrics import CONTENT_TYPE, exposition, scrape_allowed
from apps.reports.selectors import (
    activities_named,
    busiest_version_id,
    sla_dashboard,
    slo_process_choices,
)
from apps.reports.selectors import heatmap as heatmap_figures
from apps.reports.selectors.common import Period
from apps.reports.selectors.costs import process_costs
from apps.reports.selectors.timeline import instance_timeline
from apps.reports.services import slo_set
from apps.reports.slo import slis, slo_status
from apps.reports.snapshots import snapshot_or_live
from apps.reports.templatetags.reports_tags import duration

MEASURES = {
    "p95_s": "p95 duration",
    "mean_waiting_s": "mean waiting time",
    "count_waiting": "count waiting now",
}

REPORT_ROLES = (Role.AUDITOR, Role.ADMIN, Role.MANAGER)


def _report_query(request: AuthenticatedHttpRequest) -> ReportFilterForm:
    """The page's filters; a bad one is a message, and the page shows the default view."""
    form = ReportFilterForm(request.GET)
    if not form.is_valid():
        messages.error(request, form.problem())
    return form


@role_required(*REPORT_ROLES)
def index(request: AuthenticatedHttpRequest) -> HttpResponse:
    return render(
        request,
        "reports/index.html",
        {
            "open_incidents": engine_selectors.incident_list().count(),
            # the audit trail is the auditor's and admin's only (apps/audit/views.py): no card
            # that leads a manager to a refusal
            "may_audit": bool(request.user.role_names() & {Role.AUDITOR.value, Role.ADMIN.value}),
            "may_admin": Role.ADMIN.value in request.user.role_names(),
            "may_operate": bool(request.user.role_names() & {r.value for r in OPERATOR_ROLES}),
        },
    )


@role_required(*REPORT_ROLES)
def sla(request: AuthenticatedHttpRequest) -> HttpResponse:
    report_query = _report_query(request)
    filters = report_query.filters()
    snapshot = None
    if report_query.default_view():
        report, snapshot = snapshot_or_live(
            kind="sla", process_key=filters.process_key, live=report_query.compute_now()
        )
    else:
        report = sla_dashboard(
            period=filters.period,
            process_key=filters.process_key,
            risk_hours=filters.risk_hours,
            bucket=filters.bucket,
        )
    query = urlencode(
        {
            "process_key": filters.process_key,
            "since": report["period"]["since"],
            "until": report["period"]["until"],
            "risk_hours": f"{filters.risk_hours:g}",
            "bucket": filters.bucket,
        }
    )
    csv_urls = {table: f"{reverse('api-report-sla-csv', args=[table])}?{query}" for table in TABLES}
    activities_named(report["activities"])
    return render(
        request,
        "reports/sla.html",
        {
            "report": report,
            "filters": filters,
            "csv": csv_urls,
            "query": query,
            "snapshot": snapshot,
            "since": parse_datetime(report["period"]["since"]),
            "until": parse_datetime(report["period"]["until"]),
            "costs": process_costs(
                period=Period.around(
                    since=parse_datetime(report["period"]["since"]),
                    until=parse_datetime(report["period"]["until"]),
                ),
                process_key=filters.process_key,
            ),
            "costs_api": f"{reverse('api-report-costs')}?{query}",
        },
    )


@role_required(*REPORT_ROLES)
def incidents(request: AuthenticatedHttpRequest) -> HttpResponse:
    status, process_key = IncidentListForm(request.GET).filters()
    context: dict = {
        "status": status,
        "process_key": process_key,
        "can_retry": request.user.has_role(*OPERATOR_ROLES),
    }
    if status == "open":
        context["groups"] = console.incident_groups(process_key=process_key)
    else:
        context["page"] = paginate(request, console.incidents_closed(status=status))
    return render(request, "reports/incidents.html", context)


@role_required(*OPERATOR_ROLES)
@require_POST
def incident_retry(request: AuthenticatedHttpRequest, incident_id: int) -> HttpResponse:
    actor = Actor.for_user(request.user)
    return run_action(
        request,
        lambda: engine_services.incident_retry(incident_id=incident_id, actor=actor),
        success=f"Incident {incident_id}: the step is scheduled again.",
        back=reverse("reports:incidents"),
    )


def _flash_bulk(request: AuthenticatedHttpRequest, result: dict) -> None:
    if result["retried"]:
        messages.success(
            request,
            f"{len(result['retried'])} incident(s) retried: the steps are scheduled again.",
        )
    for failure in result["failed"][:10]:
        messages.error(request, f"Incident {failure['incident_id']}: {failure['message']}")
    if not result["retried"] and not result["failed"]:
        messages.error(request, "Select at least one incident to retry.")


@role_required(*OPERATOR_ROLES)
@require_POST
def incidents_retry(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Retry the selected incidents, or (``group=1``) every open incident of one group."""
    form = IncidentsRetryForm(request.POST)
    form.is_valid()  # optional text fields: always valid
    chosen = form.cleaned_data
    if chosen["group"]:
        ids = list(
            console.incidents_of_group(
                process_key=chosen["process_key"],
                activity_id=chosen["activity_id"],
                message=chosen["message"],
                limit=None,
            ).values_list("pk", flat=True)
        )
    else:
        ids = form.incident_ids()
    _flash_bulk(
        request,
        operator_services.incidents_retry(incident_ids=ids, actor=Actor.for_user(request.user)),
    )
    return redirect(reverse("reports:incidents"))


# --- operations console --------------------------------------------------------------------------


@role_required(*REPORT_ROLES)
def instances(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = InstanceSearchForm(request.GET)
    try:
        search = form.search()
    except FlowgateError as exc:
        messages.error(request, exc.message)
        search = console.InstanceSearch()
    return render(
        request,
        "reports/instances.html",
        {
            "search": search,
            "page": paginate(request, console.instance_search(search=search)),
            "query": form.page_query(),
            "statuses": InstanceStatus.choices,
            "can_migrate": request.user.has_role(*OPERATOR_ROLES),
        },
    )


@role_required(*REPORT_ROLES)
def instance(request: AuthenticatedHttpRequest, instance_id: int) -> HttpResponse:
    item = get_object_or_404(ProcessInstance.objects.select_related("version"), pk=instance_id)
    overview = console.instance_overview(instance=item)
    can_operate = request.user.has_role(*OPERATOR_ROLES)
    return render(
        request,
        "reports/instance.html",
        {
            "instance": item,
            **overview,
            "variables": [
                (name, value, value_type(value))
                for name, value in sorted((item.variables or {}).items())
            ],
            "variable_types": VariableSetForm.TYPES,
            "timeline": instance_timeline(instance=item),
            "can_operate": can_operate,
            "can_set_variables": request.user.has_role(Role.ADMIN),
            "move_options": operator_services.instance_move_options(instance=item)
            if can_operate
            else None,
            "diagram": {
                "xml": item.version.xml,
                "tokens": overview["tokens"],
                "failed": overview["failed_at"],
                "visited": overview["visited"],
            },
        },
    )


def _instance_back(instance_id: int) -> str:
    return reverse("reports:instance", args=[instance_id])


@role_required(*OPERATOR_ROLES)
@require_POST
def instance_action(
    request: AuthenticatedHttpRequest, instance_id: int, action: str
) -> HttpResponse:
    """cancel | suspend | resume | retry (incident_id); moving a token has its own page."""
    actor = Actor.for_user(request.user)
    post = InstanceActionForm(request.POST)
    actions = {
        "cancel": (
            lambda: engine_services.instance_cancel_with_compensation(
                instance_id=instance_id, actor=actor, reason=post.value("reason")[:500]
            ),
            lambda done: done.summary(),
        )
        if post.value("compensate")
        else (
            lambda: engine_services.instance_cancel(
                instance_id=instance_id, actor=actor, reason=post.value("reason")[:500]
            ),
            "The instance is cancelled.",
        ),
        "suspend": (
            lambda: engine_services.instance_suspend(instance_id=instance_id, actor=actor),
            "The instance is suspended: no step runs until it is resumed.",
        ),
        "resume": (
            lambda: engine_services.instance_resume(instance_id=instance_id, actor=actor),
            "The instance runs again.",
        ),
        "retry": (
            lambda: engine_services.incident_retry(
                incident_id=post.value("incident_id"), actor=actor
            ),
            "The failed step is scheduled again.",
        ),
    }
    if action not in actions:
        raise Http404("No such action.")
    if post.value("confirm") != "yes":
        messages.error(request, "Confirm the action first (tick the confirmation box).")
        return redirect(_instance_back(instance_id))
    run, success = actions[action]
    return run_action(request, run, success=success, back=_instance_back(instance_id))


@role_required(Role.ADMIN)
@require_POST
def instance_variable(request: AuthenticatedHttpRequest, instance_id: int) -> HttpResponse:
    """Admins: set one variable, read as the type the form names (number, text, yes/no, JSON)."""
    form = VariableSetForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect(_instance_back(instance_id))
    name, value = form.cleaned_data["name"], form.cleaned_data["parsed"]
    shown = json.dumps(value, ensure_ascii=False)
    return run_action(
        request,
        lambda: operator_services.instance_variable_set(
            instance_id=instance_id, name=name, value=value, actor=Actor.for_user(request.user)
        ),
        success=f"Variable {name} is set to {shown[:200]} ({value_type(value)}).",
        back=_instance_back(instance_id),
    )


# --- heatmap and SLOs ----------------------------------------------------------------------------


@role_required(*REPORT_ROLES)
def heatmap(request: AuthenticatedHttpRequest) -> HttpResponse:
    report_query = _report_query(request)
    filters = report_query.filters()
    versions = ProcessVersion.objects.filter(status=VersionStatus.DEPLOYED).select_related(
        "definition"
    )
    if filters.process_key:
        versions = versions.filter(definition__key=filters.process_key)
    raw_version, version_id, measure, live = HeatmapForm(request.GET).choices(MEASURES)
    version = None
    if version_id is not None:
        version = versions.filter(pk=version_id).first()
    if version is None and not filters.process_key and not raw_version:
        # no explicit choice: open on the version with the most steps in the period
        ordered = list(versions.order_by("definition__key", "-number").values_list("pk", flat=True))
        busiest = busiest_version_id(version_ids=ordered[:200], period=filters.period)
        version = versions.filter(pk=busiest).first() if busiest else None
    if version is None:
        version = versions.order_by("definition__key", "-number").first()
    figures, snapshot = None, None
    if version is not None and report_query.default_view():
        figures, snapshot = snapshot_or_live(kind="heatmap", process_key=str(version.pk), live=live)
    elif version is not None:
        figures = heatmap_figures(version_id=version.pk, period=filters.period)
    if figures is not None:
        names = rules_for_version(version).activity_names if version else {}
        for a in figures["activities"]:
            a["activity_name"] = names.get(a["activity_id"], "")
            a["p95_s_label"] = duration(a["p95_s"])
            a["mean_waiting_s_label"] = duration(a["mean_waiting_s"])
            a["count_waiting_label"] = f"{a['count_waiting']} waiting"
    return render(
        request,
        "reports/heatmap.html",
        {
            "filters": filters,
            "versions": versions.order_by("definition__key", "-number")[:200],
            "version": version,
            "figures": figures,
            "measure": measure,
            "measures": MEASURES,
            "xml": version.xml if version else "",
            "snapshot": snapshot,
        },
    )


@role_required(*REPORT_ROLES)
def slo(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _slo_page(request)


def _slo_page(
    request: AuthenticatedHttpRequest,
    *,
    form: SloForm | None = None,
    errors: dict | None = None,
    status=200,
) -> HttpResponse:
    report_query = _report_query(request)
    filters = report_query.filters()
    snapshot = None
    if report_query.default_view():
        data, snapshot = snapshot_or_live(
            kind="slo", process_key=filters.process_key, live=report_query.compute_now()
        )
        slos, indicators = data["slos"], data["slis"]
    else:
        slos = slo_status(process_key=filters.process_key)
        indicators = slis(
            period_since=filters.period.since,
            period_until=filters.period.until,
            process_key=filters.process_key,
        )
    can_edit = request.user.has_role(*OPERATOR_ROLES)
    return render(
        request,
        "reports/slo.html",
        {
            "slos": slos,
            "slis": indicators,
            "filters": filters,
            "snapshot": snapshot,
            "can_edit": can_edit,
            "processes": slo_process_choices() if can_edit else [],
            "values": form.data if form is not None else {},
            "errors": errors or {},
        },
        status=status,
    )


@role_required(*OPERATOR_ROLES)
@require_POST
def slo_save(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Errors are shown on the form's fields of the re-rendered page (400)."""
    form = SloForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The objective was not saved: correct the marked fields.")
        return _slo_page(request, form=form, errors=form.field_errors(), status=400)
    data = form.cleaned_data
    try:
        slo_set(
            process_key=data["process_key"],
            objective_percent=data["objective_percent"],
            target_seconds=max(1, round(data["target_hours"] * 3600)),
            window_days=data["window_days"],
            actor=Actor.for_user(request.user),
            user=request.user,
        )
    except InvalidInput as exc:
        errors = {d["field"]: d["message"] for d in exc.details if d.get("field")}
        messages.error(request, exc.message)
        return _slo_page(request, form=form, errors=errors, status=400)
    messages.success(request, "The objective is saved.")
    return redirect("reports:slo")


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
