"""The OpenAPI document: security schemes, error shape, conventions read from ApiView."""

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.api.urls")]


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator(urlconf="tests.api.urls").get_schema(request=None, public=True)


def test_the_served_schema_is_json_for_anyone():
    response = APIClient().get("/api/schema/?format=json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "Flowgate API"


def op(schema, path, method):
    return schema["paths"][path][method]


def test_security_schemes_token_bearer_and_session(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["tokenAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": schemes["tokenAuth"]["description"],
    }
    assert schemes["bearerAuth"]["type"] == "http" and schemes["bearerAuth"]["scheme"] == "bearer"
    assert schemes["cookieAuth"]["in"] == "cookie"
    assert op(schema, "/api/v1/me/", "get")["security"] == [
        {"tokenAuth": []},
        {"bearerAuth": []},
        {"cookieAuth": []},
    ]


def test_error_component_and_error_responses_on_every_operation(schema):
    assert schema["components"]["schemas"]["ApiError"]["required"] == [
        "details",
        "error",
        "message",
    ]
    error_ref = {"$ref": "#/components/schemas/ApiError"}
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            codes = set(operation["responses"])
            assert {"400", "401", "403", "404", "429"} <= codes, (method, path)
            if method in {"post", "put", "patch", "delete"}:
                assert {"409", "415", "422"} <= codes, (method, path)
            content = operation["responses"]["429"]["content"]["application/json"]
            assert content["schema"] == error_ref, (method, path)
    throttled = op(schema, "/api/v1/tokens/", "post")["responses"]["429"]
    assert throttled["content"]["application/json"]["schema"] == error_ref
    assert throttled["headers"]["Retry-After"]["schema"] == {"type": "integer", "minimum": 1}


def test_paginated_list_with_page_ordering_and_search_parameters(schema):
    operation = op(schema, "/api/v1/tokens/", "get")
    params = {p["name"]: p for p in operation["parameters"]}
    assert params["page"]["schema"] == {"type": "integer", "minimum": 1}
    assert params["page_size"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 200}
    assert params["ordering"]["schema"]["pattern"].startswith("^-?(")
    assert params["search"]["description"] == "Text search over: name"
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/PaginatedTokenListCreateOutputList"}
    paginated = schema["components"]["schemas"]["PaginatedTokenListCreateOutputList"]
    assert paginated["required"] == ["count", "next", "previous", "results"]
    assert paginated["properties"]["results"]["items"] == {
        "$ref": "#/components/schemas/TokenListCreateOutput"
    }


def test_django_filter_parameters_from_filterset_fields(schema):
    params = {p["name"] for p in op(schema, "/api/test/users/", "get")["parameters"]}
    assert {"is_active", "id", "ordering", "search", "page", "page_size"} <= params


def test_views_without_search_or_ordering_do_not_advertise_them(schema):
    assert "parameters" not in op(schema, "/api/v1/me/", "get")


def test_input_and_output_serializers_and_status_per_method(schema):
    create = op(schema, "/api/v1/tokens/", "post")
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/TokenListCreateInput"
    }
    assert "201" in create["responses"] and "200" not in create["responses"]
    assert create["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/TokenListCreateCreated"
    }
    revoke = op(schema, "/api/v1/tokens/{token_id}/", "delete")
    assert revoke["responses"]["204"] == {"description": "No response body"}
    echo = op(schema, "/api/test/echo/", "post")
    assert echo["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/EchoInput"
    }


def test_idempotency_key_header_is_documented_where_declared(schema):
    operation = op(schema, "/api/test/idempotent/", "post")
    (header,) = [p for p in operation["parameters"] if p["in"] == "header"]
    assert header["name"] == "Idempotency-Key" and header.get("required", False) is False
    assert "Idempotent-Replayed" in operation["responses"]["201"]["headers"]
    assert "parameters" not in op(schema, "/api/test/echo/", "post")
