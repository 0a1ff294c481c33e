"""Decision pages (read-only): the deployed decisions, and one version's table."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from apps.accounts.roles import Role
from apps.common.errors import NotFound
from apps.common.pages import role_required
from apps.processes import decision_selectors

READERS = (Role.DESIGNER, Role.ADMIN, Role.AUDITOR)


@role_required(*READERS, message="Decisions are for designers, auditors and admins.")
def decision_list(request: HttpRequest) -> HttpResponse:
    return render(
        request, "designer/decisions.html", {"decisions": decision_selectors.decisions_list()}
    )


@role_required(*READERS, message="Decisions are for designers, auditors and admins.")
def decision_detail(request: HttpRequest, key: str, number: int | None = None) -> HttpResponse:
    try:
        version = decision_selectors.version_get(key=key, number=number)
        versions = list(decision_selectors.versions_of(key=key))
    except NotFound as exc:
        raise Http404(exc.message) from None
    view = decision_selectors.decision_view(version)
    usage = decision_selectors.rule_match_counts(version=version)
    for rule in view.get("rules", []):
        rule["matches"] = usage["rules"].get(rule["id"], 0)
    context = {"version": version, "versions": versions, "view": view, "usage": usage}
    return render(request, "designer/decision.html", context)
