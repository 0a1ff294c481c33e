"""Decision pages: the deployed decisions, one version's table (read-only, with *Try it*), and
the dmn-js decision editor (new decision, or the latest version's file) whose *Check*, *Deploy*
and *Try it* go through the API (the server is the authority on every cell)."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from apps.accounts.roles import Role
from apps.common.errors import InvalidInput, NotFound, Unprocessable
from apps.common.pages import role_required
from apps.processes import decision_selectors, decisions

READERS = (Role.DESIGNER, Role.ADMIN, Role.AUDITOR)
EDITORS = (Role.DESIGNER, Role.ADMIN)
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
    context = {"decisions": decision_selectors.decisions_list(), "can_edit": _can_edit(request)}
    return render(request, "designer/decisions.html", context)


def _can_edit(request: HttpRequest) -> bool:
    user = request.user
    return user.is_authenticated and user.has_role(*EDITORS)


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
        "can_edit": _can_edit(request),
    }
    return render(request, "designer/decision.html", context, status=status)


class NewDecisionForm(forms.Form):
    """``/designer/decisions/new/?key=&name=``: the id (the key every version shares)."""

    key = forms.CharField(max_length=190, label="Decision id")
    name = forms.CharField(max_length=200, required=False, label="Name")

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        key = data.get("key")
        if key:
            try:
                data["xml"] = decisions.decision_blank_xml(key=key, name=data.get("name") or "")
            except InvalidInput as exc:
                self.add_error("key", exc.message)
            else:
                if _deployed(key):
                    self.add_error("key", f"A decision '{key}' exists: edit it instead.")
        return data


def _deployed(key: str) -> bool:
    try:
        decision_selectors.versions_of(key=key)
    except NotFound:
        return False
    return True


@role_required(*EDITORS, message="Editing decisions is for designers and admins.")
def decision_new(request: HttpRequest) -> HttpResponse:
    form = NewDecisionForm(request.GET or None)
    if not form.is_valid():
        return render(request, "designer/decision_new.html", {"form": form})
    key = form.cleaned_data["key"]
    return _editor(request, key=key, xml=form.cleaned_data["xml"], versions=[])


@role_required(*EDITORS, message="Editing decisions is for designers and admins.")
def decision_edit(request: HttpRequest, key: str) -> HttpResponse:
    try:
        version = decision_selectors.version_get(key=key)
    except NotFound as exc:
        raise Http404(exc.message) from None
    versions = list(decision_selectors.versions_of(key=key))
    return _editor(request, key=key, xml=version.deployment.xml, versions=versions, latest=version)


def _editor(request, *, key: str, xml: str, versions: list, latest=None) -> HttpResponse:
    context = {"key": key, "xml": xml, "versions": versions, "latest": latest}
    return render(request, "designer/decision_editor.html", context)
