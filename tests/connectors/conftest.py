from __future__ import annotations

import pytest

from apps.connectors.base import ExecutionContext
from tests.connectors.servers import LocalServer


@pytest.fixture
def canary():
    """A listener on 127.0.0.1 that must never be reached by a refused request."""
    with LocalServer() as server:
        yield server


@pytest.fixture
def server():
    """The local HTTP server the positive tests call (allow-listed per test, by host:port)."""
    with LocalServer() as server:
        yield server


@pytest.fixture
def allow_server(settings, server):
    settings.FLOWGATE_HTTP_ALLOWLIST = [f"127.0.0.1:{server.port}"]
    return server


@pytest.fixture
def context():
    return ExecutionContext(
        idempotency_key="inst-7:act-42",
        instance_id=7,
        activity_id="CallApi",
        job_id=99,
        attempt=1,
        process_key="order",
        timeout=5.0,
    )
