"""Circuit and limit keys by host + path prefix, longest prefix wins (decision 039), against a
real local HTTP server."""

from __future__ import annotations

import ipaddress

import pytest

from apps.connectors.base import CircuitOpen, ConnectorError, ExecutionContext
from apps.connectors.http import breaker, limits
from apps.connectors.http.connector import HttpConnector
from apps.connectors.http.targets import Target, protection_key
from tests.connectors.servers import LocalServer

pytestmark = pytest.mark.django_db

ORIGIN = "http://api.keys.test:80"


def _target(path: str) -> Target:
    return Target("http", "api.keys.test", 80, path, ipaddress.ip_address("192.0.2.1"))


def test_the_longest_configured_prefix_on_whole_segments_wins(settings):
    settings.FLOWGATE_HTTP_BREAKER_TARGETS = {f"{ORIGIN}/v1": {"failures": 3}}
    settings.FLOWGATE_HTTP_LIMIT_TARGETS = {
        f"{ORIGIN}/v1/reports/": {"concurrency": 1},
        "http://other.keys.test:80/v1": {"rate": 1},
    }
    assert protection_key(_target("/v1/orders?x=1")) == f"{ORIGIN}/v1"
    assert protection_key(_target("/v1")) == f"{ORIGIN}/v1"
    assert protection_key(_target("/v1/reports/daily")) == f"{ORIGIN}/v1/reports"
    assert protection_key(_target("/v1/reports")) == f"{ORIGIN}/v1/reports"
    # not a whole segment, or another path: the origin
    assert protection_key(_target("/v10/orders")) == ORIGIN
    assert protection_key(_target("/health")) == ORIGIN
    assert protection_key(_target("/")) == ORIGIN


def _context(call: int) -> ExecutionContext:
    return ExecutionContext(
        idempotency_key=f"keys-{call}",
        instance_id=1,
        activity_id="a",
        job_id=1,
        attempt=1,
        timeout=5.0,
    )


def test_a_failing_path_opens_its_own_circuit_and_the_rest_of_the_host_is_called(settings):
    with LocalServer() as server:
        origin = f"http://127.0.0.1:{server.port}"
        failing = f"{origin}/status"
        settings.FLOWGATE_HTTP_ALLOWLIST = [f"127.0.0.1:{server.port}"]
        settings.FLOWGATE_HTTP_BREAKER_FAILURES = 1000
        settings.FLOWGATE_HTTP_BREAKER_TARGETS = {failing: {"failures": 2, "cooldown": 60}}
        try:
            # given /status/... failing twice: its circuit (and only its) opens
            for call in range(2):
                with pytest.raises(ConnectorError):
                    HttpConnector().execute({"url": server.url("/status/503")}, _context(call))
            assert breaker.circuits()[failing].state == breaker.OPEN
            # when: the third call to that prefix is held back without reaching the server
            with pytest.raises(CircuitOpen) as held:
                HttpConnector().execute({"url": server.url("/status/503")}, _context(3))
            assert f"circuit open for host {failing} until" in held.value.message
            assert len(server.recorder.requests) == 2
            # then another path of the same host is still called, under the origin's circuit
            answer = HttpConnector().execute({"url": server.url("/ok")}, _context(4))
            assert answer["status"] == 200
            assert len(server.recorder.requests) == 3
            assert breaker.circuits().get(origin, breaker.CircuitState()).state == breaker.CLOSED
        finally:
            breaker.circuit_reset(failing)
            breaker.circuit_reset(origin)


def test_a_limit_on_a_path_prefix_holds_only_that_prefix(settings):
    with LocalServer() as server:
        origin = f"http://127.0.0.1:{server.port}"
        slow = f"{origin}/slow"
        settings.FLOWGATE_HTTP_ALLOWLIST = [f"127.0.0.1:{server.port}"]
        settings.FLOWGATE_HTTP_LIMIT_TARGETS = {slow: {"rate": 1, "period": 60}}
        try:
            server.recorder.release.set()  # /slow answers at once
            assert (
                HttpConnector().execute({"url": server.url("/slow")}, _context(1))["status"] == 200
            )
            with pytest.raises(ConnectorError) as refused:
                HttpConnector().execute({"url": server.url("/slow")}, _context(2))
            assert f"rate limit for {slow}" in refused.value.message
            # the rest of the host has no limit
            for call in range(3):
                HttpConnector().execute({"url": server.url("/ok")}, _context(10 + call))
            assert [s.deferred for s in limits.limit_statuses() if s.target == slow] == [1]
        finally:
            limits.limits_reset(slow)
