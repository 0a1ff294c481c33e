"""The operations console's view of the HTTP connector's circuit breakers (decision 029): which
targets are held back and until when; an administrator can close a circuit by hand."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.accounts.requests import AuthenticatedHttpRequest
from apps.accounts.roles import Role
from apps.common.pages import role_required, run_action
from apps.connectors import selectors as connector_selectors
from apps.connectors import services as connector_services

REPORT_ROLES = (Role.AUDITOR, Role.ADMIN, Role.MANAGER)


class CircuitCloseForm(forms.Form):
    target = forms.CharField(max_length=300)


@role_required(*REPORT_ROLES)
def circuits(request: AuthenticatedHttpRequest) -> HttpResponse:
    return render(
        request,
        "reports/circuits.html",
        {
            "circuits": connector_selectors.circuit_list(),
            "limits": connector_selectors.limit_list(),
            "can_close": request.user.has_role(Role.ADMIN),
        },
    )


@role_required(Role.ADMIN)
@require_POST
def circuit_close(request: HttpRequest) -> HttpResponse:
    back = reverse("reports:circuits")
    form = CircuitCloseForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Name the circuit to close.")
        return redirect(back)
    target = form.cleaned_data["target"]
    return run_action(
        request,
        lambda: connector_services.circuit_close(target=target, actor_user=request.user),
        success=f"Circuit for {target} closed: the waiting steps call it at their next run.",
        back=back,
    )
