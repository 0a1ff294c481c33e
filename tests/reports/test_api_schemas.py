"""The report API's answers have exactly the fields its OpenAPI schema declares."""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework import serializers

from apps.engine.models import ProcessInstance
from apps.processes.models import ProcessVersion
from apps.reports import api_schemas as schemas
from apps.reports.demo import report_demo_seed
from tests.api.test_engine_api import client_for

pytestmark = pytest.mark.django_db


def mismatches(declared: serializers.Serializer, data, path: str = "") -> list[str]:
    """Where ``data`` has other keys than ``declared`` (recursively; lists: every item)."""
    if isinstance(declared, serializers.ListSerializer):
        return [m for item in data for m in mismatches(declared.child, item, path + "[]")]
    if isinstance(declared, serializers.ListField):
        return [m for item in data for m in mismatches(declared.child, item, path + "[]")]
    if not isinstance(declared, serializers.Serializer):
        return []
    if data is None:
        return [] if declared.allow_null else [f"{path}: null"]
    fields = declared.get_fields()
    out = []
    missing = {name for name, f in fields.items() if f.required} - set(data)
    extra = set(data) - set(fields)
    if missing or extra:
        out.append(f"{path or '.'}: missing {sorted(missing)}, undeclared {sorted(extra)}")
    for name, value in data.items():
        if name in fields:
            out += mismatches(fields[name], value, f"{path}.{name}")
    return out


def test_every_report_answer_matches_its_declared_schema(make_user):
    # given the report demo (history, open approvals, two incidents) and an admin
    report_demo_seed(now=timezone.now())
    api = client_for(make_user("admin"))
    version = ProcessVersion.objects.order_by("-pk").first()
    running = ProcessInstance.objects.filter(status="running").first()
    calls = [
        (
            "get",
            "/api/v1/reports/sla/?process_key=expense_approval&risk_hours=5",
            None,
            "SlaDashboardOut",
        ),
        ("get", "/api/v1/reports/sla/", None, "SlaDashboardOut"),
        ("get", "/api/v1/reports/slo/", None, "SloListOut"),
        ("get", "/api/v1/reports/sli/", None, "SliListOut"),
        ("get", f"/api/v1/reports/heatmap/{version.pk}/", None, "HeatmapOut"),
        (
            "get",
            f"/api/v1/reports/heatmap/{version.pk}/slowest/?activity_id=manager_approval",
            None,
            "SlowestOut",
        ),
        ("get", "/api/v1/reports/incidents/groups/", None, "IncidentGroupsOut"),
        (
            "post",
            "/api/v1/reports/incidents/retry/",
            {"incident_ids": [999999]},
            "IncidentsRetryOut",
        ),
        (
            "put",
            "/api/v1/reports/slo/expense_approval/",
            {"objective_percent": "95", "target_seconds": 100},
            "SloListOut",
        ),
        (
            "put",
            "/api/v1/reports/activity-slas/expense_approval/manager_approval/",
            {"breach": "4 business hours", "business_time": True},
            "ActivitySlaOut",
        ),
        (
            "post",
            f"/api/v1/reports/instances/{running.pk}/variables/",
            {"name": "x", "value": 1},
            "InstanceVariablesOut",
        ),
    ]
    for method, url, body, declared in calls:
        # when each endpoint answers
        response = getattr(api, method)(url, body, format="json")
        assert response.status_code == 200, (url, response.content)
        data = response.json()
        # then its answer has the declared fields, no more and no fewer
        assert data, url
        assert mismatches(getattr(schemas, declared)(), data) == [], url


def test_the_check_sees_an_undeclared_or_missing_field():
    answer = {"slos": [{"process_key": "p", "extra": 1}]}
    [problem] = mismatches(schemas.SloListOut(), answer)
    assert problem.startswith(".slos[]: missing ['bad', 'budget_remaining',")
    assert problem.endswith("undeclared ['extra']")
