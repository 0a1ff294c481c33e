"""The report APIs read their query parameters through serializers (apps/reports/api_queries.py),
which the OpenAPI schema lists; the report pages through forms. Bad values: a 400
``invalid_filter`` that names the parameter (API), a message and the default view (pages)."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator

from apps.common.actors import Actor
from apps.processes import gallery
from apps.processes.services import version_deploy
from tests.api.helpers import assert_error
from tests.api.test_engine_api import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager_api(make_user):
    return client_for(make_user("manager"))


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/reports/sla/?risk_hours=abc", "risk_hours"),
        ("/api/v1/reports/sla/?risk_hours=100000", "risk_hours"),
        ("/api/v1/reports/sla/?bucket=week", "bucket"),
        ("/api/v1/reports/sla/?live=maybe", "live"),
        ("/api/v1/reports/sla/activities.csv?risk_hours=-1", "risk_hours"),
        ("/api/v1/reports/instances/?version=three", "version"),
        ("/api/v1/reports/instances/?stuck_hours=soon", "stuck_hours"),
    ],
)
def test_a_bad_query_parameter_is_a_400_naming_it(manager_api, url, field):
    body = assert_error(manager_api.get(url), 400, "invalid_filter")
    assert body["message"].startswith(f"{field}: ")
    assert [d["field"] for d in body["details"]] == [field]


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/reports/sli/?since=yesterday",
        "/api/v1/reports/slo.csv?until=2026-02-30",
        "/api/v1/reports/instances/?status=sleeping",
    ],
)
def test_a_meaningless_value_is_still_the_parsers_400(manager_api, url):
    assert_error(manager_api.get(url), 400, "invalid_filter")


def test_the_slowest_instances_need_an_activity(manager_api):
    version = version_deploy(
        xml=gallery.template_get(slug="expense_approval").xml(), actor=Actor.system("t")
    ).version
    body = assert_error(
        manager_api.get(f"/api/v1/reports/heatmap/{version.pk}/slowest/"), 400, "invalid_filter"
    )
    assert body["details"][0]["field"] == "activity_id"
    ok = manager_api.get(f"/api/v1/reports/heatmap/{version.pk}/slowest/?activity_id=approve")
    assert ok.status_code == 200 and ok.json()["activity_id"] == "approve"


def test_good_values_pass(manager_api):
    assert manager_api.get("/api/v1/reports/sla/?live=1&process_key=x").status_code == 200
    assert manager_api.get("/api/v1/reports/sla/?risk_hours=2.5&bucket=hour").status_code == 200
    assert manager_api.get("/api/v1/reports/instances/?version=2&stuck_hours=1").status_code == 200


def test_the_schema_lists_every_report_filter():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    params = {p["name"]: p for p in schema["paths"]["/api/v1/reports/sla/"]["get"]["parameters"]}
    assert {"process_key", "since", "until", "risk_hours", "bucket", "live"} <= set(params)
    assert params["bucket"]["schema"]["enum"] == ["day", "hour"]
    assert params["risk_hours"]["schema"]["type"] == "number"
    assert params["live"]["schema"]["type"] == "boolean"
    sli = {p["name"] for p in schema["paths"]["/api/v1/reports/sli/"]["get"]["parameters"]}
    assert sli == {"process_key", "since", "until"}
    search = schema["paths"]["/api/v1/reports/instances/"]["get"]["parameters"]
    assert {p["name"]: p["schema"]["type"] for p in search}["version"] == "integer"


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ("live=maybe", "live is 1 (compute now) or absent."),
        ("risk_hours=x", "risk_hours must be a number of hours"),
        ("bucket=week", "bucket must be day or hour."),
    ],
)
@pytest.mark.parametrize("page", ["sla", "slo", "heatmap"])
def test_a_bad_filter_on_a_report_page_is_a_message(client, make_user, page, query, shown):
    client.force_login(make_user("auditor"))
    answer = client.get(f"/admin-reports/{page}/?{query}")
    assert answer.status_code == 200
    assert any(shown in str(m) for m in answer.context["messages"])
