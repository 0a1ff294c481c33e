"""The decision rules report page: per decision and period, how often each rule matched."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import render

from apps.accounts.requests import AuthenticatedHttpRequest
from apps.common.errors import FlowgateError
from apps.common.pages import role_required
from apps.processes import decision_selectors
from apps.reports.filters import ReportFilters
from apps.reports.selectors.decisions import decision_rule_report
from apps.reports.views import REPORT_ROLES


class DecisionReportForm(forms.Form):
    decision = forms.CharField(required=False, max_length=200)
    since = forms.CharField(required=False, max_length=40)
    until = forms.CharField(required=False, max_length=40)


@role_required(*REPORT_ROLES)
def decision_rules(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = DecisionReportForm(request.GET)
    if not form.is_valid():
        messages.error(
            request, "The filters are too long: showing the last 30 days of all decisions."
        )
    values = form.cleaned_data if form.is_valid() else {}
    key = (values.get("decision") or "").strip()
    try:
        filters = ReportFilters.parse({k: v for k, v in values.items() if k != "decision" and v})
        report = decision_rule_report(period=filters.period, key=key)
    except FlowgateError as exc:
        messages.error(request, exc.message)
        filters = ReportFilters.parse({})
        report = decision_rule_report(period=filters.period)
        key = ""
    context = {
        "report": report,
        "filters": filters,
        "key": key,
        "choices": [d["key"] for d in decision_selectors.decisions_list()],
    }
    return render(request, "reports/decisions.html", context)
