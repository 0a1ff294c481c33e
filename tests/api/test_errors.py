"""Every API error has the shape {"error", "message", "details"} with the right status."""

import json

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.api.helpers import assert_error, token_client, token_for

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.api.urls")]


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("not_authenticated", 401, "not_authenticated"),
        ("authentication_failed", 401, "authentication_failed"),
        ("drf_permission_denied", 403, "forbidden"),
        ("django_permission_denied", 403, "forbidden"),
        ("drf_not_found", 404, "not_found"),
        ("http404", 404, "not_found"),
        ("method_not_allowed", 405, "method_not_allowed"),
        ("not_acceptable", 406, "not_acceptable"),
        ("parse_error", 400, "parse_error"),
        ("unsupported_media_type", 415, "unsupported_media_type"),
        ("invalid_input", 400, "invalid"),
        ("access_denied", 403, "forbidden"),
        ("flowgate_not_found", 404, "not_found"),
        ("conflict", 409, "task_completed"),
        ("unprocessable", 422, "unprocessable"),
        ("django_validation_error", 400, "invalid"),
    ],
)
def test_each_error_class_maps_to_its_status_and_code(kind, status, code):
    response = APIClient().get(f"/api/test/raise/{kind}/")
    assert_error(response, status, code)


def test_not_authenticated_carries_www_authenticate_so_clients_know_to_send_a_token():
    response = APIClient().get("/api/test/raise/not_authenticated/")
    body = assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == 'Token realm="api"'
    assert "Authorization: Token <key>" in body["message"]


def test_flowgate_error_keeps_its_message_and_details():
    body = assert_error(APIClient().get("/api/test/raise/unprocessable/"), 422, "unprocessable")
    assert body["message"] == "The BPMN file has problems."
    assert body["details"] == [{"element": "Task_1", "problem": "no outgoing"}]
    conflict = assert_error(APIClient().get("/api/test/raise/conflict/"), 409, "task_completed")
    assert conflict["message"] == "Task 3 is already completed."


def test_throttled_has_retry_after_rounded_up():
    response = APIClient().get("/api/test/raise/throttled/")
    body = assert_error(response, 429, "throttled")
    assert response["Retry-After"] == "13"
    assert body["message"] == "Too many requests: retry in 13 seconds."


def test_django_validation_error_lists_field_errors():
    body = assert_error(APIClient().get("/api/test/raise/django_validation_error/"), 400, "invalid")
    assert body["details"] == [{"field": "due", "message": "Must be a date.", "code": "invalid"}]


def test_validation_error_details_are_flat_field_errors(make_user):
    client = APIClient()
    client.force_authenticate(make_user())
    response = client.post(
        "/api/test/echo/", {"name": "far too long a name", "tags": ["ok", "toolong"]}, format="json"
    )
    body = assert_error(response, 400, "invalid")
    assert body["details"] == [
        {
            "field": "name",
            "message": "Ensure this field has no more than 10 characters.",
            "code": "max_length",
        },
        {"field": "count", "message": "This field is required.", "code": "required"},
        {
            "field": "tags.1",
            "message": "Ensure this field has no more than 3 characters.",
            "code": "max_length",
        },
    ]
    assert body["message"] == (
        "Invalid input: name: Ensure this field has no more than 10 characters. "
        "(and 2 more problems)"
    )


def test_non_field_validation_error(make_user):
    client = APIClient()
    client.force_authenticate(make_user())
    body = assert_error(
        client.post("/api/test/echo/", {"name": "nobody", "count": 1}, format="json"),
        400,
        "invalid",
    )
    assert body["details"] == [
        {"field": "non_field_errors", "message": "nobody is not allowed", "code": "invalid"}
    ]
    assert body["message"] == "Invalid input: nobody is not allowed"


def test_malformed_json_is_a_400_parse_error(make_user):
    _, key = token_for(make_user())
    response = token_client(key).post(
        "/api/test/echo/", data=b'{"name": ', content_type="application/json"
    )
    body = assert_error(response, 400, "parse_error")
    assert body["message"].startswith("JSON parse error")


def test_unsupported_content_type_is_a_415(make_user):
    _, key = token_for(make_user())
    response = token_client(key).post("/api/test/echo/", data=b"name=x", content_type="text/csv")
    assert_error(response, 415, "unsupported_media_type")


def test_wrong_method_is_a_405(make_user):
    _, key = token_for(make_user())
    response = token_client(key).put("/api/test/echo/", {"name": "x"}, format="json")
    body = assert_error(response, 405, "method_not_allowed")
    assert body["message"] == 'Method "PUT" not allowed.'


def test_unknown_api_path_is_a_json_404():
    response = Client().get("/api/v1/no-such-thing/")
    body = assert_error(response, 404, "not_found")
    assert body["message"] == "Not found: nothing exists at this address."


def test_unknown_page_path_is_the_html_404_page(make_user):
    client = Client()
    client.force_login(make_user())
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert b"Page not found" in response.content
    assert b"<code>/no-such-page/</code>" in response.content
    assert b'href="/"' in response.content  # back to the home page


def test_unhandled_exception_in_the_api_is_a_json_500_with_request_id():
    client = APIClient(raise_request_exception=False)
    response = client.get("/api/test/raise/runtime_error/", HTTP_X_REQUEST_ID="req-123")
    body = assert_error(response, 500, "server_error")
    assert body["details"] == [{"request_id": "req-123"}]
    assert "a bug" not in body["message"]


def test_html_500_page_renders(rf):
    from apps.common.api_errors import server_error

    request = rf.get("/designer/")
    request.request_id = "abc"
    response = server_error(request)
    assert response.status_code == 500
    assert b"Something went wrong on our side" in response.content
    assert b"<code>abc</code>" in response.content


def test_403_handler_html_and_json(rf, make_user):
    from apps.common.api_errors import permission_denied

    html_request = rf.get("/designer/")
    html_request.user = make_user()
    html = permission_denied(html_request)
    assert html.status_code == 403
    assert b"You are not allowed to do this" in html.content
    api = permission_denied(rf.get("/api/v1/x/"))
    assert api.status_code == 403
    assert json.loads(api.content) == {
        "error": "forbidden",
        "message": "You do not have permission to do this.",
        "details": [],
    }


def test_400_handler_json_for_api_paths(rf):
    from apps.common.api_errors import bad_request

    response = bad_request(rf.get("/api/v1/x/"))
    assert response.status_code == 400
    assert json.loads(response.content)["error"] == "bad_request"
