from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.accounts.roles import Role
from apps.common.actors import Actor
from apps.common.pages import paginate, role_required, run_action
from apps.engine import selectors as engine_selectors
from apps.engine import services as engine_services
from apps.reports.selectors import sla_report


@role_required(Role.AUDITOR, Role.ADMIN, Role.MANAGER)
def index(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "reports/index.html",
        {
            "open_incidents": engine_selectors.incident_list().count(),
        },
    )


@role_required(Role.AUDITOR, Role.ADMIN, Role.MANAGER)
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
            "can_retry": request.user.has_role(Role.ADMIN, Role.MANAGER),
        },
    )


@role_required(Role.ADMIN, Role.MANAGER)
@require_POST
def incident_retry(request: HttpRequest, incident_id: int) -> HttpResponse:
    actor = Actor.for_user(request.user)
    return run_action(
        request,
        lambda: engine_services.incident_retry(incident_id=incident_id, actor=actor),
        success=f"Incident {incident_id}: the step is scheduled again.",
        back=reverse("reports:incidents"),
    )


@role_required(Role.AUDITOR, Role.ADMIN, Role.MANAGER)
def sla(request: HttpRequest) -> HttpResponse:
    from apps.common.errors import FlowgateError
    from apps.reports.apis import parse_since

    process_key = request.GET.get("process", "").strip()
    try:
        since = parse_since(request.GET.get("since"))
    except FlowgateError as exc:
        from django.contrib import messages

        messages.error(request, exc.message)
        since = None
    return render(
        request,
        "reports/sla.html",
        {"report": sla_report(process_key=process_key, since=since), "process_key": process_key},
    )
