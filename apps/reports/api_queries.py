"""The report APIs' query parameters as serializers: each endpoint's filters are declared here
(typed, so the OpenAPI schema lists them) and read through ``validated_query(...)``
(apps/common/api_queries.py).

The meaning of a filter stays in one parser (``ReportFilters.parse``, ``InstanceSearch.parse``):
a serializer checks each parameter's type and range, then hands the parameters it declares to
that parser. Any bad parameter is a 400 ``invalid_filter`` naming it, as before."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.common.api_queries import validated_query
from apps.reports.console import InstanceSearch
from apps.reports.filters import BUCKETS, MAX_RISK_HOURS, ReportFilters
from apps.reports.selectors import DEFAULT_RISK_HOURS

DATE_HELP = "A date (2026-01-31, whole UTC day) or an ISO 8601 date-time with a zone"


class ProcessQuery(serializers.Serializer):
    process_key = serializers.CharField(
        required=False, allow_blank=True, help_text="One process (default: all)"
    )


class PeriodQuery(serializers.Serializer):
    since = serializers.CharField(
        required=False, allow_blank=True, help_text=f"{DATE_HELP} (default: 30 days ago)"
    )
    until = serializers.CharField(
        required=False, allow_blank=True, help_text=f"{DATE_HELP}; inclusive (default: now)"
    )


class ProcessPeriodQuery(ProcessQuery, PeriodQuery):
    pass


class ReportQuery(ProcessPeriodQuery):
    risk_hours = serializers.FloatField(
        required=False,
        min_value=0,
        max_value=MAX_RISK_HOURS,
        help_text=f"Open tasks breaching within this many hours are at risk (default "
        f"{DEFAULT_RISK_HOURS})",
    )
    bucket = serializers.ChoiceField(
        choices=BUCKETS, required=False, help_text="Throughput bucket (default: day)"
    )
    live = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Compute the default view now instead of serving its snapshot",
    )


class DecisionRulesQuery(PeriodQuery):
    decision = serializers.CharField(
        required=False, default="", max_length=200, help_text="One decision key (default: all)"
    )


class SlowestQuery(serializers.Serializer):
    activity_id = serializers.CharField(max_length=200, help_text="The activity's BPMN id")


class InstanceSearchQuery(serializers.Serializer):
    process_key = serializers.CharField(required=False, allow_blank=True)
    version = serializers.IntegerField(required=False, min_value=1, help_text="Version number")
    status = serializers.CharField(required=False, allow_blank=True)
    business_key = serializers.CharField(required=False, allow_blank=True)
    variable = serializers.CharField(
        required=False, allow_blank=True, help_text="A variable's name; with value: equal to it"
    )
    value = serializers.CharField(required=False, allow_blank=True)
    started_from = serializers.CharField(required=False, allow_blank=True, help_text=DATE_HELP)
    started_to = serializers.CharField(required=False, allow_blank=True, help_text=DATE_HELP)
    stuck_hours = serializers.FloatField(
        required=False, min_value=0, help_text="Not advanced for more than this many hours"
    )
    waiting_at = serializers.CharField(
        required=False, allow_blank=True, help_text="An activity id a token waits at"
    )


def as_text(values: dict[str, Any]) -> dict[str, str]:
    """The checked values as the parsers read them (text; absent and None are empty)."""
    return {
        name: (f"{value:g}" if isinstance(value, float) else str(value))
        for name, value in values.items()
        if value is not None
    }


def report_filters(
    params: Any, serializer: type[serializers.Serializer] = ReportQuery
) -> ReportFilters:
    """The report filters an endpoint declares (``serializer``), read by ``ReportFilters``."""
    return ReportFilters.parse(as_text(validated_query(serializer, params)))


def instance_search(params: Any) -> InstanceSearch:
    return InstanceSearch.parse(as_text(validated_query(InstanceSearchQuery, params)))
