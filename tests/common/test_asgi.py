"""The HTTP path under an ASGI server (apps.common.asgi, decision 016, amendment 1): the whole middleware chain
and the view in one worker thread, the same responses and headers as before; and our own
middlewares in both of Django's modes (sync and async), so that no chain has to adapt them."""

from __future__ import annotations

import asyncio
import threading

import pytest
from asgiref.sync import iscoroutinefunction
from asgiref.testing import ApplicationCommunicator
from channels.testing import HttpCommunicator
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from apps.common.asgi import OneThreadASGIHandler
from apps.common.context import request_id_var
from apps.common.middleware import RequestIdMiddleware, SecurityHeadersMiddleware
from apps.common.outages import OutageMiddleware
from portal.asgi import application, django_asgi_app

pytestmark = pytest.mark.django_db(transaction=True)


HOST = [(b"host", b"testserver")]


def _get(path: str, headers: list | None = None) -> dict:
    async def run():
        communicator = HttpCommunicator(application, "GET", path, headers=HOST + (headers or []))
        return await communicator.get_response(timeout=10)

    return asyncio.run(run())


def test_the_asgi_application_builds_the_sync_chain():
    assert isinstance(django_asgi_app, OneThreadASGIHandler)
    # sync, as under WSGI: no middleware of the chain is adapted with a thread hand-over
    assert not iscoroutinefunction(django_asgi_app._middleware_chain)


def test_a_page_through_asgi_keeps_every_header():
    response = _get("/accounts/login/", headers=[(b"x-request-id", b"abc-123")])
    headers = {k.decode().lower(): v.decode() for k, v in response["headers"]}
    assert response["status"] == 200
    assert headers["x-request-id"] == "abc-123"
    assert headers["cross-origin-resource-policy"] == "same-origin"
    assert "permissions-policy" in headers
    assert "content-security-policy" in headers
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert b"<form" in response["body"]


def test_middlewares_and_view_run_in_one_thread(monkeypatch):
    """One hand-over per request: the view runs in the thread the middlewares run in."""
    seen: dict[str, int] = {}
    original = RequestIdMiddleware.handle

    def handle(self, request):
        seen["middleware"] = threading.get_ident()
        return original(self, request)

    from apps.common import views

    real_report = views.health_report

    def health_report():
        seen["view"] = threading.get_ident()
        return real_report()

    monkeypatch.setattr(RequestIdMiddleware, "handle", handle)
    monkeypatch.setattr(views, "health_report", health_report)
    handler = OneThreadASGIHandler()  # a chain built with the patched classes

    async def run():
        communicator = HttpCommunicator(handler, "GET", "/healthz", headers=HOST)
        return await communicator.get_response(timeout=10)

    response = asyncio.run(run())
    assert response["status"] in (200, 503)
    assert seen["middleware"] == seen["view"]
    assert seen["view"] != threading.get_ident()  # not on the event loop's thread


def test_static_files_are_still_served():
    """WhiteNoise stays in the (sync) chain: /static/ is served by the ASGI application."""

    async def run():
        scope = {
            "type": "http",
            "http_version": "1.1",
            "method": "GET",
            "path": "/static/rest_framework/css/default.css",
            "raw_path": b"/static/rest_framework/css/default.css",
            "query_string": b"",
            "headers": HOST,
            "scheme": "http",
            "server": ("testserver", 80),
            "client": ("127.0.0.1", 1234),
        }
        app = ApplicationCommunicator(application, scope)
        await app.send_input({"type": "http.request", "body": b""})
        start = await app.receive_output(10)
        body = b""
        while True:
            message = await app.receive_output(10)
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        return start, body

    start, body = asyncio.run(run())
    assert start["status"] == 200
    assert b"{" in body


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_request_id_middleware_in_both_modes(mode):
    seen = {}

    def view(request: HttpRequest) -> HttpResponse:
        seen["var"] = request_id_var.get()
        return HttpResponse("ok")

    async def async_view(request: HttpRequest) -> HttpResponse:
        return view(request)

    request = RequestFactory().get("/", HTTP_X_REQUEST_ID="req-1")
    if mode == "sync":
        middleware = RequestIdMiddleware(view)
        assert not iscoroutinefunction(middleware)
        response = middleware(request)
    else:
        middleware = RequestIdMiddleware(async_view)
        assert iscoroutinefunction(middleware)
        response = asyncio.run(middleware(request))
    assert response["X-Request-ID"] == "req-1"
    assert request.request_id == "req-1"
    assert seen["var"] == "req-1"
    assert request_id_var.get() is None  # reset after the request


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_security_headers_and_outage_middlewares_in_both_modes(mode, settings):
    def view(request: HttpRequest) -> HttpResponse:
        return HttpResponse("ok")

    async def async_view(request: HttpRequest) -> HttpResponse:
        return view(request)

    request = RequestFactory().get("/")
    inner = view if mode == "sync" else async_view
    middleware = SecurityHeadersMiddleware(OutageMiddleware(inner))
    assert iscoroutinefunction(middleware) is (mode == "async")
    response = middleware(request) if mode == "sync" else asyncio.run(middleware(request))
    assert response.content == b"ok"
    assert response["Cross-Origin-Resource-Policy"] == "same-origin"
    assert response["Permissions-Policy"] == settings.FLOWGATE_PERMISSIONS_POLICY
