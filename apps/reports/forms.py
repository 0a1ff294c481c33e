"""Forms of the report and operations console pages: the page's input, checked before the service
(which checks again).

Setting a variable: the admin says which type the value is (number, text, yes/no, JSON), and the
value is read as that type or refused with a message that says why. Guessing the type from the
text ("1,5" or "007" silently became text, "true" a boolean) stored values the process then
compared wrongly; the console names the type of every stored value too (``value_type``).
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django import forms

from apps.common.errors import InvalidInput
from apps.reports.console import InstanceSearch
from apps.reports.filters import ReportFilters
from apps.reports.selectors import slo_process_choices
from apps.reports.snapshots import is_default_view

NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
INTEGER = re.compile(r"^[+-]?\d+$")
YES = {"true", "yes"}
NO = {"false", "no"}


def value_type(value: Any) -> str:
    """The console's name for the JSON type of a stored value."""
    if value is None:
        return "empty (null)"
    if isinstance(value, bool):
        return "yes/no"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "list"
    return "object"


class VariableSetForm(forms.Form):
    TYPES = (
        ("number", "Number"),
        ("text", "Text"),
        ("boolean", "Yes/no (true or false)"),
        ("json", "JSON (list, object or null)"),
    )

    name = forms.CharField(max_length=100, strip=True)
    type = forms.ChoiceField(
        choices=TYPES,
        error_messages={
            "required": "Choose the type of the value: number, text, yes/no or JSON.",
            "invalid_choice": "The type is one of: number, text, yes/no or JSON.",
        },
    )
    value = forms.CharField(required=False, strip=False, max_length=64 * 1024)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or self.cleaned_data
        kind = data.get("type")
        if kind is None or "value" not in data:
            return data
        raw = data["value"]
        if kind == "number":
            text = raw.strip()
            if not NUMBER.match(text):
                raise forms.ValidationError(
                    f"'{raw}' is not a number: write digits, with a dot for decimals "
                    "(for example 1500 or 12.5), or choose the type Text."
                )
            number = int(text) if INTEGER.match(text) else float(text)
            if isinstance(number, float) and not math.isfinite(number):
                raise forms.ValidationError(f"'{raw}' is too large for a number.")
            data["parsed"] = number
        elif kind == "boolean":
            word = raw.strip().lower()
            if word not in YES | NO:
                raise forms.ValidationError(f"'{raw}' is not yes/no: write true or false.")
            data["parsed"] = word in YES
        elif kind == "json":
            try:
                data["parsed"] = json.loads(raw, parse_constant=_refuse_constant)
            except ValueError as exc:
                raise forms.ValidationError(
                    f"The value is not valid JSON ({exc}); text needs the type Text."
                ) from None
        else:
            data["parsed"] = raw
        return data


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


class SloForm(forms.Form):
    """Set an objective: "P % of the process's instances complete within T hours", over a window.
    The process is a choice among the deployed ones (an objective for a process that does not
    exist would never be judged)."""

    process_key = forms.ChoiceField(label="Process", choices=slo_process_choices)
    objective_percent = forms.DecimalField(
        label="Objective (%)",
        max_digits=6,
        decimal_places=3,
        min_value=Decimal(1),
        max_value=Decimal("99.999"),
    )
    target_hours = forms.FloatField(label="Within (hours)", min_value=1 / 3600, max_value=365 * 24)
    window_days = forms.IntegerField(label="Window (days)", min_value=1, max_value=365)

    def field_errors(self) -> dict[str, str]:
        return {name: " ".join(map(str, messages)) for name, messages in self.errors.items()}


class IncidentListForm(forms.Form):
    """``/admin-reports/incidents/?status=&process_key=``: an unknown status shows the open ones."""

    status = forms.ChoiceField(
        choices=[(s, s) for s in ("open", "retried", "resolved")], required=False
    )
    process_key = forms.CharField(required=False)

    def filters(self) -> tuple[str, str]:
        """(status, process_key); each falls back to its default alone when it is not valid."""
        self.is_valid()
        data = self.cleaned_data
        return data.get("status") or "open", (data.get("process_key") or "")[:200]


class IncidentsRetryForm(forms.Form):
    """Retry the chosen incidents (``incident_id``, repeated), or with ``group`` every open
    incident of the group the three other fields name."""

    group = forms.CharField(required=False)
    process_key = forms.CharField(required=False, strip=False)
    activity_id = forms.CharField(required=False, strip=False)
    message = forms.CharField(required=False, strip=False)

    def incident_ids(self) -> list[int]:
        raw = self.data.getlist("incident_id") if hasattr(self.data, "getlist") else []
        return [int(value) for value in raw if value.isdigit()]


class InstanceActionForm(forms.Form):
    """The console's instance actions: the confirmation box and each action's one argument."""

    confirm = forms.CharField(required=False)
    reason = forms.CharField(required=False, strip=False)
    activity_id = forms.CharField(required=False, strip=False)
    incident_id = forms.IntegerField(required=False, min_value=0)
    compensate = forms.BooleanField(required=False)

    def value(self, name: str) -> Any:
        """A field's cleaned value, or its empty default when it is absent or not valid."""
        self.is_valid()
        default = 0 if name == "incident_id" else ""
        value = self.cleaned_data.get(name)
        return default if value in (None, "") else value


class HeatmapForm(forms.Form):
    """The heatmap page's own choices (the period and process come from ``ReportFilters``):
    ``version_id`` (absent: the busiest version; not a number: the first one), ``measure``
    (unknown: p95 duration) and ``live=1`` (compute the default view now)."""

    version_id = forms.CharField(required=False)
    measure = forms.CharField(required=False)
    live = forms.CharField(required=False)

    def choices(self, measures: Any) -> tuple[str, int | None, str, bool]:
        """(version_id as given, as a number or None, measure, live)."""
        self.is_valid()
        data = self.cleaned_data
        raw = data.get("version_id") or ""
        measure = data.get("measure") or "p95_s"
        return (
            raw,
            int(raw) if raw.isdigit() else None,
            measure if measure in measures else "p95_s",
            data.get("live") == "1",
        )


class ReportFilterForm(forms.Form):
    """The SLA, SLO and heatmap pages' filters (``ReportFilters.parse`` reads them: one parser,
    one message for the pages, the CSV exports and the API) and ``live=1`` (compute the default
    view now instead of serving its snapshot). A bad filter is a message on the page, which then
    shows the default view."""

    process_key = forms.CharField(required=False)
    process = forms.CharField(required=False)
    since = forms.CharField(required=False)
    until = forms.CharField(required=False)
    risk_hours = forms.CharField(required=False)
    bucket = forms.CharField(required=False)
    live = forms.ChoiceField(
        choices=(("", "snapshot"), ("0", "snapshot"), ("1", "compute now")),
        required=False,
        error_messages={"invalid_choice": "live is 1 (compute now) or absent."},
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            data["filters"] = ReportFilters.parse(data)
        except InvalidInput as exc:
            raise forms.ValidationError(exc.message) from None
        return data

    def problem(self) -> str:
        """The first problem with the filters, as the page shows it."""
        return next(str(message) for messages in self.errors.values() for message in messages)

    def filters(self) -> ReportFilters:
        """The filters asked for; the default ones when they are not valid."""
        return self.cleaned_data["filters"] if self.is_valid() else ReportFilters.parse({})

    def compute_now(self) -> bool:
        return self.is_valid() and self.cleaned_data["live"] == "1"

    def default_view(self) -> bool:
        """No filter but the process: the background snapshot can serve it."""
        return not self.is_valid() or is_default_view(self.cleaned_data)


class InstanceSearchForm(forms.Form):
    """The operations console's instance search (``InstanceSearch.parse`` checks the values)."""

    process_key = forms.CharField(required=False)
    version = forms.CharField(required=False)
    status = forms.CharField(required=False)
    business_key = forms.CharField(required=False)
    variable = forms.CharField(required=False)
    value = forms.CharField(required=False)
    started_from = forms.CharField(required=False)
    started_to = forms.CharField(required=False)
    stuck_hours = forms.CharField(required=False)
    waiting_at = forms.CharField(required=False)

    def search(self) -> InstanceSearch:
        """The search asked for (``InvalidInput`` for a bad value)."""
        self.is_valid()  # text fields: always valid
        return InstanceSearch.parse(self.cleaned_data)

    def page_query(self) -> str:
        """The search as a query string for the page links (the filled-in fields, encoded)."""
        self.is_valid()
        return urlencode({name: value for name, value in self.cleaned_data.items() if value})
