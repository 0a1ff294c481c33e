"""The engine API's list filters are read through serializers (typed in the OpenAPI schema);
a bad value is a 400 ``invalid_filter`` naming the parameter, an empty one means "all"."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator

from tests.api.helpers import assert_error
from tests.api.test_engine_api import client_for

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("/api/v1/instances/?status=sleeping", "status: "),
        ("/api/v1/incidents/?status=bogus", "status: status must be open, retried or resolved."),
    ],
)
def test_an_unknown_status_is_a_400_naming_it(make_user, url, message):
    body = assert_error(client_for(make_user("manager")).get(url), 400, "invalid_filter")
    assert body["message"].startswith(message)
    assert [d["field"] for d in body["details"]] == ["status"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/instances/",
        "/api/v1/instances/?status=",
        "/api/v1/instances/?status=running&process_key=x&business_key=y",
        "/api/v1/incidents/",
        "/api/v1/incidents/?status=",
        "/api/v1/incidents/?status=resolved",
    ],
)
def test_known_or_empty_values_list(make_user, url):
    answer = client_for(make_user("manager")).get(url)
    assert answer.status_code == 200 and answer.json()["results"] == []


def test_the_schema_lists_the_filters_with_their_values():
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    instances = {p["name"]: p for p in paths["/api/v1/instances/"]["get"]["parameters"]}
    incidents = {p["name"]: p for p in paths["/api/v1/incidents/"]["get"]["parameters"]}
    assert {"status", "process_key", "business_key"} <= set(instances)
    assert "running" in instances["status"]["schema"]["enum"]
    assert set(incidents["status"]["schema"]["enum"]) >= {"open", "retried", "resolved"}
