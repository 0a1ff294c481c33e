"""/metrics shows the HTTP connector's circuits (decision 029): open or not, and the failures."""

from __future__ import annotations

import pytest

from apps.connectors.http import breaker

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("redis_url", ["", "redis://127.0.0.1:6379/2"])
def test_an_open_circuit_is_a_metric(client, settings, redis_url):
    settings.REDIS_URL = redis_url
    settings.FLOWGATE_HTTP_BREAKER_FAILURES = 2
    opened, failing = "http://down.metrics.test:80", "http://flaky.metrics.test:80"
    try:
        for _ in range(2):
            breaker.after_call(opened, ok=False)
        breaker.after_call(failing, ok=False)
        body = client.get("/metrics").content.decode()
    finally:
        breaker.circuit_reset(opened)
        breaker.circuit_reset(failing)
    assert f'flowgate_http_circuit_open{{target="{opened}"}} 1.0' in body
    assert f'flowgate_http_circuit_open{{target="{failing}"}} 0.0' in body
    assert f'flowgate_http_circuit_failures{{target="{opened}"}} 2.0' in body
