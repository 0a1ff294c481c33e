from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from apps.common import tracing
from apps.common.context import client_ip_var, new_request_id, request_id_var
from apps.common.proxies import apply_trusted_proxies

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class SyncAndAsyncMiddleware:
    """Base of our middlewares: usable in a sync chain and in an async one (as Django's own are),
    so that Django never adapts them with a thread hand-over. A subclass implements ``handle``
    (sync) and ``ahandle`` (async) around ``self.get_response``."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if iscoroutinefunction(self):
            return self.ahandle(request)
        return self.handle(request)

    def handle(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    async def ahandle(self, request: HttpRequest) -> HttpResponse:
        get_response: Callable[[HttpRequest], Awaitable[HttpResponse]] = self.get_response
        return await get_response(request)


class ForwardedHeadersMiddleware(SyncAndAsyncMiddleware):
    """First in MIDDLEWARE: X-Forwarded-* count only from TRUSTED_PROXIES (apps/common/proxies.py)."""

    def handle(self, request: HttpRequest) -> HttpResponse:
        apply_trusted_proxies(request.META, tuple(settings.TRUSTED_PROXIES))
        return self.get_response(request)

    async def ahandle(self, request: HttpRequest) -> HttpResponse:
        apply_trusted_proxies(request.META, tuple(settings.TRUSTED_PROXIES))
        return await self.get_response(request)


class RequestIdMiddleware(SyncAndAsyncMiddleware):
    """Gives every request an id (honouring a sane incoming X-Request-ID) for logs and audit."""

    def _bind(self, request: HttpRequest) -> tuple[str, Any, Any]:
        incoming = request.headers.get("X-Request-ID", "")
        rid = incoming if _SAFE_ID.match(incoming) else new_request_id()
        request.request_id = rid  # type: ignore[attr-defined]
        return rid, request_id_var.set(rid), client_ip_var.set(request.META.get("REMOTE_ADDR"))

    def handle(self, request: HttpRequest) -> HttpResponse:
        rid, token, ip_token = self._bind(request)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
            client_ip_var.reset(ip_token)
        response["X-Request-ID"] = rid
        return response

    async def ahandle(self, request: HttpRequest) -> HttpResponse:
        rid, token, ip_token = self._bind(request)
        try:
            response = await self.get_response(request)
        finally:
            request_id_var.reset(token)
            client_ip_var.reset(ip_token)
        response["X-Request-ID"] = rid
        return response


class TraceContextMiddleware(SyncAndAsyncMiddleware):
    """Honours an incoming W3C ``traceparent``: it becomes the current trace context, so an
    instance started by this request joins the caller's trace (apps/common/tracing.py). With the
    OpenTelemetry Django instrumentation on, its server span is already current and wins."""

    @staticmethod
    def _carrier(request: HttpRequest) -> dict[str, str]:
        return {
            "traceparent": request.headers.get("traceparent", ""),
            "tracestate": request.headers.get("tracestate", ""),
        }

    def handle(self, request: HttpRequest) -> HttpResponse:
        with tracing.incoming(self._carrier(request)):
            return self.get_response(request)

    async def ahandle(self, request: HttpRequest) -> HttpResponse:
        with tracing.incoming(self._carrier(request)):
            return await self.get_response(request)


class SecurityHeadersMiddleware(SyncAndAsyncMiddleware):
    """Headers Django and django-csp do not set: Permissions-Policy and Cross-Origin-Resource-Policy.

    The rest (CSP, HSTS, X-Frame-Options, Referrer-Policy, X-Content-Type-Options,
    Cross-Origin-Opener-Policy) come from settings; docs/security.md lists them all.
    """

    def __init__(self, get_response: Callable[[HttpRequest], Any]):
        super().__init__(get_response)
        self.permissions_policy = settings.FLOWGATE_PERMISSIONS_POLICY

    def _add_headers(self, response: HttpResponse) -> HttpResponse:
        if self.permissions_policy:
            response.setdefault("Permissions-Policy", self.permissions_policy)
        response.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        return response

    def handle(self, request: HttpRequest) -> HttpResponse:
        return self._add_headers(self.get_response(request))

    async def ahandle(self, request: HttpRequest) -> HttpResponse:
        return self._add_headers(await self.get_response(request))
