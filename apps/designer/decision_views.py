"""Decision pages (read-only): the deployed decisions, and one version's table."""

from __future__ import annotations

import json

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from apps.accounts.roles import Role
from apps.common.errors import NotFound, Unprocessable
from apps.common.pages import role_required
from apps.processes import decision_selectors, decisions

READERS = (Role.DESIGNER, Role.ADMIN, Role.AUDITOR)
MAX_TRY_TEXT = 100_000


class TryForm(forms.Form):
    """The "try it" panel: the variables as a JSON object."""

    variables = forms.CharField(max_length=MAX_TRY_TEXT, widget=forms.Textarea)

    def clean_variables(self) -> dict:
        try:
            value = json.loads(self.cleaned_data["variables"])
        except ValueError as exc:
            raise forms.ValidationError(f"This is not JSON: {exc}") from None
        if not isinstance(value, dict):
            raise forms.ValidationError('Give the variables as a JSON object: {"amount": 500}.')
        return value


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
    tried, error, status = None, "", 200
    if request.method == "POST":
        form = TryForm(request.POST)
        if form.is_valid():
            try:
                tried = decisions.decision_try(
                    key=version.key, number=version.number, variables=form.cleaned_data["variables"]
                )
            except Unprocessable as exc:
                error, status = exc.message, 422
        else:
            status = 400
    else:
        form = TryForm(initial={"variables": json.dumps(view["try_variables"], indent=2)})
    matched = {r["id"] for r in tried.outcome.matched_rules} if tried else set()
    for rule in view.get("rules", []):
        rule["tried"] = rule["id"] in matched
    context = {
        "version": version,
        "versions": versions,
        "view": view,
        "usage": usage,
        "form": form,
        "tried": tried,
        "tried_result": json.dumps(tried.outcome.result, indent=2) if tried else "",
        "try_error": error,
    }
    return render(request, "designer/decision.html", context, status=status)
