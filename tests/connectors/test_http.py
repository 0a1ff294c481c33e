"""HTTP connector against a real local server (allow-listed by host:port for these tests only)."""

from __future__ import annotations

import base64
import dataclasses

import pytest

from apps.connectors import registry
from apps.connectors.base import BusinessError, ConnectorError
from apps.connectors.http.connector import HttpConnector
from apps.connectors.services import secret_set


def run(inputs, context):
    return HttpConnector().execute(inputs, context)


def test_registered_under_http():
    assert isinstance(registry.get("http"), HttpConnector)


def test_success_returns_status_headers_json_and_text(allow_server, context):
    result = run(
        {
            "method": "POST",
            "url": allow_server.url("/ok"),
            "query": {"q": "a b", "n": 2, "flag": True},
            "json": {"amount": 12.5, "items": ["x"]},
            "headers": {"X-Custom": "1"},
        },
        context,
    )

    assert result["status"] == 200
    assert result["headers"]["x-test"] == "yes"
    assert result["headers"]["content-type"] == "application/json"
    assert result["json"] == {
        "method": "POST",
        "path": "/ok?q=a+b&n=2&flag=true",
        "idempotency_key": "inst-7:act-42",
        "body": {"amount": 12.5, "items": ["x"]},
    }
    assert result["text"].startswith('{"method": "POST"')
    seen = allow_server.recorder.requests[0]
    assert seen.headers["Content-Type"] == "application/json"
    assert seen.headers["X-Custom"] == "1"
    assert seen.headers["User-Agent"] == "Flowgate-HTTP-Connector/1"
    assert seen.headers["Host"] == f"127.0.0.1:{allow_server.port}"


def test_idempotency_key_is_sent_on_every_attempt_unchanged(allow_server, context):
    second_attempt = dataclasses.replace(context, attempt=2, job_id=100)

    run({"url": allow_server.url("/ok")}, context)
    run({"url": allow_server.url("/ok")}, second_attempt)

    keys = [r.headers["Idempotency-Key"] for r in allow_server.recorder.requests]
    assert keys == ["inst-7:act-42", "inst-7:act-42"]


def test_url_template_is_filled_from_inputs_url_encoded(allow_server, context):
    url = f"http://127.0.0.1:{allow_server.port}/{{route}}?id={{order_id}}"

    result = run({"url": url, "route": "ok", "order_id": "a/b&c"}, context)

    assert result["json"]["path"] == "/ok?id=a%2Fb%26c"


def test_missing_template_variable_is_permanent(allow_server, context):
    with pytest.raises(ConnectorError) as caught:
        run({"url": allow_server.url("/orders/{order_id}")}, context)
    assert caught.value.permanent is True
    assert caught.value.message == (
        "The URL uses '{order_id}' but there is no input named 'order_id'."
    )
    assert allow_server.recorder.requests == []


@pytest.mark.parametrize("code", [400, 401, 403, 404, 409, 422])
def test_4xx_is_permanent(allow_server, context, code):
    with pytest.raises(ConnectorError) as caught:
        run({"url": allow_server.url(f"/status/{code}")}, context)
    assert caught.value.permanent is True
    assert caught.value.message == (
        f"GET http://127.0.0.1:{allow_server.port}/status/{code} answered {code}: "
        f"status {code} body"
    )


@pytest.mark.parametrize("code", [408, 429, 500, 502, 503, 504])
def test_5xx_408_and_429_are_retryable(allow_server, context, code):
    with pytest.raises(ConnectorError) as caught:
        run({"url": allow_server.url(f"/status/{code}")}, context)
    assert caught.value.permanent is False
    assert f"answered {code} (Retry-After: 7): status {code} body; will retry." in (
        caught.value.message
    )


def test_business_error_mapping_routes_to_error_code(allow_server, context):
    with pytest.raises(BusinessError) as caught:
        run(
            {
                "url": allow_server.url("/status/404"),
                "business_errors": {"404": "ORDER_NOT_FOUND"},
            },
            context,
        )
    assert caught.value.error_code == "ORDER_NOT_FOUND"
    assert caught.value.permanent is True


def test_read_timeout_is_retryable(allow_server, context):
    with pytest.raises(ConnectorError) as caught:
        run({"url": allow_server.url("/slow"), "timeout": 0.3}, context)
    assert caught.value.permanent is False
    assert caught.value.message == (
        f"GET http://127.0.0.1:{allow_server.port} did not finish within its 0.3s timeout "
        "(connecting, sending, and receiving the headers and body together); will retry."
    )


def test_connection_refused_is_retryable(settings, context):
    from tests.connectors.servers import LocalServer

    with LocalServer() as gone:
        port = gone.port
    settings.FLOWGATE_HTTP_ALLOWLIST = [f"127.0.0.1:{port}"]

    with pytest.raises(ConnectorError) as caught:
        run({"url": f"http://127.0.0.1:{port}/ok"}, context)
    assert caught.value.permanent is False
    assert "connection refused; will retry." in caught.value.message


def test_oversize_response_with_length_is_permanent(allow_server, context, settings):
    settings.FLOWGATE_HTTP_MAX_RESPONSE_BYTES = 1000

    with pytest.raises(ConnectorError) as caught:
        run({"url": allow_server.url("/big"), "query": {"size": 1001}}, context)
    assert caught.value.permanent is True
    assert caught.value.message == (
        f"GET http://127.0.0.1:{allow_server.port}: the response is 1001 bytes, more than the "
        "1000-byte limit."
    )


def test_oversize_response_without_length_is_permanent(allow_server, context, settings):
    settings.FLOWGATE_HTTP_MAX_RESPONSE_BYTES = 1000

    with pytest.raises(ConnectorError) as caught:
        run({"url": allow_server.url("/big-unsized"), "query": {"size": 5000}}, context)
    assert caught.value.permanent is True
    assert "larger than the 1000-byte limit" in caught.value.message


def test_response_at_the_limit_is_accepted(allow_server, context, settings):
    settings.FLOWGATE_HTTP_MAX_RESPONSE_BYTES = 1000

    result = run({"url": allow_server.url("/big-unsized"), "query": {"size": 1000}}, context)

    assert result["text"] == "y" * 1000
    assert result["json"] is None


def test_text_is_decoded_with_the_declared_charset(allow_server, context):
    result = run({"url": allow_server.url("/text")}, context)
    assert result["text"] == "héllo"


def test_redirect_within_the_allowed_server_is_followed(allow_server, context):
    result = run(
        {"url": allow_server.url("/redirect"), "query": {"to": "/ok?step=2", "code": 303}},
        context,
    )

    assert result["json"]["path"] == "/ok?step=2"
    assert [r.method for r in allow_server.recorder.requests] == ["GET", "GET"]


def test_303_after_post_turns_into_get_without_body(allow_server, context):
    result = run(
        {
            "method": "POST",
            "url": allow_server.url("/redirect"),
            "query": {"to": "/ok", "code": 303},
            "json": {"a": 1},
        },
        context,
    )
    assert result["json"]["method"] == "GET"
    assert result["json"]["body"] is None
    assert "Content-Type" not in allow_server.recorder.requests[1].headers


def test_307_keeps_method_and_body(allow_server, context):
    result = run(
        {
            "method": "PUT",
            "url": allow_server.url("/redirect"),
            "query": {"to": "/ok", "code": 307},
            "json": {"a": 1},
        },
        context,
    )
    assert (result["json"]["method"], result["json"]["body"]) == ("PUT", {"a": 1})


def test_redirect_to_other_port_of_allowed_host_is_rechecked(allow_server, canary, context):
    """The allow-list opens 127.0.0.1:<server>; a redirect to localhost/127.0.0.1 on another
    port is a new target and is refused."""
    for location in (canary.url("/ok", host="localhost"), canary.url("/ok")):
        with pytest.raises(ConnectorError) as caught:
            run({"url": allow_server.url("/redirect"), "query": {"to": location}}, context)
        assert caught.value.permanent is True
    assert canary.recorder.connections == 0


def test_too_many_redirects_is_permanent(allow_server, context):
    with pytest.raises(ConnectorError) as caught:
        run({"url": allow_server.url("/loop")}, context)
    assert caught.value.permanent is True
    assert caught.value.message == (
        f"Too many redirects (more than 5) starting at {allow_server.url('/loop')}."
    )
    assert len(allow_server.recorder.requests) == 6


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("auth", "header", "expected"),
    [
        ({"type": "bearer", "secret": "api-token"}, "Authorization", "Bearer tok-123"),
        (
            {"type": "basic", "secret": "api-token", "username": "svc"},
            "Authorization",
            "Basic " + base64.b64encode(b"svc:tok-123").decode(),
        ),
        ({"type": "api_key_header", "secret": "api-token"}, "X-API-Key", "tok-123"),
        (
            {"type": "api_key_header", "secret": "api-token", "header": "X-Token"},
            "X-Token",
            "tok-123",
        ),
    ],
)
def test_auth_from_stored_secret(allow_server, context, make_user, auth, header, expected):
    secret_set(name="api-token", value="tok-123", actor_user=make_user("admin"))

    run({"url": allow_server.url("/ok"), "auth": auth}, context)

    assert allow_server.recorder.requests[0].headers[header] == expected


@pytest.mark.django_db
def test_auth_is_not_forwarded_to_another_origin(server, context, settings, make_user):
    settings.FLOWGATE_HTTP_ALLOWLIST = [f"127.0.0.1:{server.port}", f"localhost:{server.port}"]
    secret_set(name="api-token", value="tok-123", actor_user=make_user("admin"))
    location = server.url("/ok", host="localhost")

    result = run(
        {
            "url": server.url("/redirect"),
            "query": {"to": location},
            "auth": {"type": "bearer", "secret": "api-token"},
        },
        context,
    )

    assert result["status"] == 200
    first, second = server.recorder.requests
    assert first.headers["Authorization"] == "Bearer tok-123"
    assert "Authorization" not in second.headers
    assert second.headers["Host"] == f"localhost:{server.port}"
    assert second.headers["Idempotency-Key"] == "inst-7:act-42"


@pytest.mark.django_db
def test_missing_secret_is_permanent_and_sends_nothing(allow_server, context):
    with pytest.raises(ConnectorError) as caught:
        run({"url": allow_server.url("/ok"), "auth": {"type": "bearer", "secret": "nope"}}, context)
    assert caught.value.permanent is True
    assert caught.value.message.startswith("Secret 'nope' does not exist.")
    assert allow_server.recorder.requests == []


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"url": "http://x/", "method": "TRACE"}, "Unsupported method 'TRACE'"),
        ({"url": "http://x/", "headers": {"Host": "evil"}}, "Header 'Host' is set by the"),
        ({"url": "http://x/", "headers": {"Idempotency-Key": "k"}}, "cannot be overridden"),
        ({"url": "http://x/", "headers": {"X-A": "a\r\nX-B: b"}}, "single-line string"),
        ({"url": "http://x/", "headers": {"Bad Name": "v"}}, "not a valid HTTP header name"),
        ({"url": "http://x/", "query": ["a"]}, "'query' input must be an object"),
        ({"url": "http://x/", "timeout": 0}, "'timeout' input must be a number"),
        ({"url": "http://x/", "timeout": 1000}, "'timeout' input must be a number"),
        ({"url": "http://x/", "auth": {"type": "digest", "secret": "s"}}, "auth.type must be"),
        ({"url": 5}, "'url' input must be a non-empty string"),
        ({}, "'url' input must be a non-empty string"),
        ({"url": "http://x/", "business_errors": {"404": ""}}, "'business_errors' input"),
    ],
)
def test_invalid_inputs_are_permanent(inputs, message, context):
    with pytest.raises(ConnectorError) as caught:
        run(inputs, context)
    assert caught.value.permanent is True
    assert message in caught.value.message


def test_schema_lists_the_inputs():
    schema = HttpConnector.config_schema
    assert schema["required"] == ["url"]
    assert set(schema["properties"]) == {
        "method",
        "url",
        "headers",
        "query",
        "json",
        "auth",
        "business_errors",
        "timeout",
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    "auth",
    [
        {"type": "bearer", "secret": "api-token"},
        {"type": "basic", "secret": "api-token", "username": "svc"},
        {"type": "api_key_header", "secret": "api-token"},
    ],
)
def test_a_server_echoing_the_credential_does_not_leak_it(allow_server, context, make_user, auth):
    secret_set(name="api-token", value="tok-123456", actor_user=make_user("admin"))

    result = run({"url": allow_server.url("/echo-headers/200"), "auth": auth}, context)
    with pytest.raises(ConnectorError) as caught:
        run({"url": allow_server.url("/echo-headers/400"), "auth": auth}, context)

    basic = base64.b64encode(b"svc:tok-123456").decode()
    everything = repr(result) + caught.value.message
    assert "tok-123456" not in everything and basic not in everything
    assert "[redacted]" in result["text"]
    assert "[redacted]" in caught.value.message
