from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.accounts.roles import Role
from apps.audit.services import Actor
from apps.common.pages import paginate, role_required, run_action
from apps.engine import selectors as engine_selectors
from apps.engine import services as engine_services


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
