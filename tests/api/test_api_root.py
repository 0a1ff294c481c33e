"""GET /api/v1/ answers with an index of the API: resources, schema and docs."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.api.test_engine_api import client_for

pytestmark = pytest.mark.django_db
BASE = "http://testserver"


def test_the_index_is_public_and_links_the_schema_and_the_docs():
    response = APIClient().get("/api/v1/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert (body["schema"], body["docs"]) == (f"{BASE}/api/schema/", f"{BASE}/api/docs/")
    assert body["resources"]["processes"] == {
        "url": f"{BASE}/api/v1/processes/",
        "description": "process definitions, deploy, import, versions, webhooks",
    }
    assert len(body["resources"]) == 16


def test_every_linked_resource_exists(make_user):
    client = client_for(make_user("admin"))
    links = APIClient().get("/api/v1/").json()["resources"]
    answers = {key: client.get(link["url"]).status_code for key, link in links.items()}
    assert {key: code for key, code in answers.items() if code not in (200, 405)} == {}
    # what answers GET with 405 says so in its description
    post_only = {key for key, code in answers.items() if code == 405}
    assert post_only == {"audit_verify", "messages"}
    assert all(links[key]["description"].startswith("POST only: ") for key in post_only)


def test_a_browser_asking_for_html_gets_json(make_user):
    client = client_for(make_user("admin"))
    response = client.get("/api/v1/processes/", HTTP_ACCEPT="text/html,*/*;q=0.8")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert client.get("/api/v1/processes/?format=api").status_code == 404
