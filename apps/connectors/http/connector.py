"""The ``http`` connector: one HTTP(S) request (plus checked redirects) per activation."""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

from django.conf import settings

from apps.connectors.base import Connector, ConnectorError, ExecutionContext
from apps.connectors.http import breaker, limits
from apps.connectors.http.errors import refuse
from apps.connectors.http.exchange import REDIRECT_STATUSES, result, send, timed_out
from apps.connectors.http.inputs import CONFIG_SCHEMA, build_request
from apps.connectors.http.targets import allowlist_from_settings, check_url, protection_key
from apps.connectors.http.transport import Deadline
from apps.connectors.registry import register

MAX_REDIRECTS = 5
MAX_CONNECT_TIMEOUT = 5.0


class HttpConnector(Connector):
    name = "http"
    label = "HTTP request"
    description = (
        "Calls an HTTP/REST endpoint and returns status, headers, json and text. Internal, "
        "loopback and metadata addresses are refused unless an administrator allow-lists them."
    )
    config_schema = CONFIG_SCHEMA

    def execute(self, inputs: dict[str, Any], context: ExecutionContext) -> dict[str, Any]:
        request = build_request(inputs, context)
        # One deadline for the whole exchange: DNS, connect, TLS, request, headers, body and
        # every redirect hop. Each socket operation waits at most what is left of it.
        deadline = Deadline(float(inputs.get("timeout") or context.timeout))
        max_bytes = int(settings.FLOWGATE_HTTP_MAX_RESPONSE_BYTES)
        allowlist = allowlist_from_settings()
        method, url, body, headers = (
            request["method"],
            request["url"],
            request["body"],
            request["headers"],
        )
        first_origin = None
        circuit: str | None = None  # the first target's breaker key: its health is at stake
        slot: str | None = None  # the first target's concurrency lease, if it has a limit
        try:
            for hop in range(MAX_REDIRECTS + 1):
                try:
                    target = check_url(url, allowlist=allowlist, dns_timeout=deadline.remaining())
                except TimeoutError:
                    raise timed_out(f"{method} {url.split('?')[0]}", deadline) from None
                first_origin = first_origin or target.origin
                if circuit is None:
                    # After the SSRF check (a refused URL is refused, open circuit or not) and
                    # before any byte goes out: a target at its concurrency or rate limit raises
                    # TargetLimited, an open circuit CircuitOpen (giving the slot back below).
                    circuit = protection_key(target)  # origin, or origin + path prefix
                    slot = limits.acquire(circuit, lease_seconds=deadline.remaining())
                    breaker.before_call(circuit)
                if target.origin != first_origin:
                    # Credentials belong to the first origin only.
                    headers = {k: v for k, v in headers.items() if k.lower() not in request["auth"]}
                try:
                    status, resp_headers, raw = send(
                        target,
                        method,
                        body,
                        headers,
                        deadline=deadline,
                        connect_timeout=MAX_CONNECT_TIMEOUT,
                        max_bytes=max_bytes,
                    )
                    location = resp_headers.get("location")
                    if status in REDIRECT_STATUSES and location:
                        if hop == MAX_REDIRECTS:
                            raise refuse(
                                f"Too many redirects (more than {MAX_REDIRECTS}) starting at "
                                f"{request['url']}."
                            )
                        url = urljoin(url, location)
                        if status == 303 or (
                            status in {301, 302} and method not in {"GET", "HEAD"}
                        ):
                            method, body = "GET", None
                            headers = {
                                k: v for k, v in headers.items() if k.lower() != "content-type"
                            }
                        continue
                    answer = result(
                        status, resp_headers, raw, inputs, target, method, request["sensitive"]
                    )
                except ConnectorError as exc:
                    # Retryable (5xx, 408/429, timeouts, connection errors) counts against the
                    # circuit; a permanent error or business error means the service answered.
                    breaker.after_call(circuit, ok=exc.permanent, error=exc.message)
                    raise
                breaker.after_call(circuit, ok=True)
                return answer
            raise AssertionError("unreachable")  # pragma: no cover
        finally:
            # Released on success, failure and timeout alike; a killed worker's lease expires.
            if circuit is not None:
                limits.release_slot(circuit, slot)


register(HttpConnector())
