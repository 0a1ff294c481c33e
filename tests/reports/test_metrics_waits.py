"""/metrics and the console show each target's breaker state, its limits' use and the calls
held back; the last audit verification's result is a metric (decision 039)."""

from __future__ import annotations

import time

import pytest
from django.core.management import CommandError, call_command

from apps.audit.actions import AuditAction
from apps.audit.services import chain_link_pending, record
from apps.connectors.base import CircuitOpen, TargetLimited
from apps.connectors.http import breaker, limits
from tests.audit.support import tamper

pytestmark = pytest.mark.django_db
DOWN = "http://down.waits.test:80"
LIMITED = "http://limited.waits.test:80"
STORES = ["", "redis://127.0.0.1:6379/6"]


@pytest.fixture
def reset():
    yield
    for key in (DOWN, LIMITED):
        breaker.circuit_reset(key)
        limits.limits_reset(key)


@pytest.mark.parametrize("redis_url", STORES)
def test_breaker_state_limits_and_held_back_calls_are_metrics_and_on_the_console(
    client, make_user, settings, reset, redis_url
):
    # given an open circuit that held back 2 calls, and a target at its concurrency limit of 2
    # that refused 1
    settings.REDIS_URL = redis_url
    settings.FLOWGATE_HTTP_BREAKER_FAILURES = 1
    settings.FLOWGATE_HTTP_LIMIT_TARGETS = {LIMITED: {"concurrency": 2, "rate": 10, "period": 60}}
    breaker.after_call(DOWN, ok=False, error="503")
    for _ in range(2):
        with pytest.raises(CircuitOpen):
            breaker.before_call(DOWN)
    held = [limits.acquire(LIMITED, lease_seconds=30) for _ in range(2)]
    with pytest.raises(TargetLimited):
        limits.acquire(LIMITED, lease_seconds=30)
    limits.release_slot(LIMITED, held[0])

    # when Prometheus scrapes
    body = client.get("/metrics").content.decode()

    # then
    assert f'flowgate_http_circuit_state{{state="open",target="{DOWN}"}} 1.0' in body
    assert f'flowgate_http_circuit_state{{state="closed",target="{DOWN}"}} 0.0' in body
    assert f'flowgate_http_circuit_deferred_total{{target="{DOWN}"}} 2.0' in body
    assert f'flowgate_http_limit_in_flight{{target="{LIMITED}"}} 1.0' in body
    assert f'flowgate_http_limit_concurrency{{target="{LIMITED}"}} 2.0' in body
    assert f'flowgate_http_limit_window_starts{{target="{LIMITED}"}} 2.0' in body
    assert f'flowgate_http_limit_rate{{target="{LIMITED}"}} 10.0' in body
    assert f'flowgate_http_limit_deferred_total{{target="{LIMITED}"}} 1.0' in body

    # and the console shows the same
    client.force_login(make_user("manager", username="mgr"))
    page = client.get("/admin-reports/circuits/").content.decode()
    assert f'<tr data-target="{LIMITED}">' in page
    assert '<td data-testid="limit-in-flight">1 / 2</td>' in page
    assert '<td data-testid="limit-deferred">1</td>' in page
    assert "2 / 10 per 60 s" in page
    assert '<td data-testid="circuit-deferred">2</td>' in page


def test_limit_status_forgets_expired_leases():
    state = limits.LimitState(leases={"a": 100.0, "b": 200.0}, starts=(95.0, 150.0), deferred=3)
    limit = limits.TargetLimit(concurrency=5, rate=10, period=60)
    assert limits.in_flight(state, 150.0) == 1
    assert limits.recent_starts(state, 150.0, limit) == 2
    assert limits.recent_starts(state, 160.0, limit) == 1


def _verify_metric(client) -> list[str]:
    return [
        line
        for line in client.get("/metrics").content.decode().splitlines()
        if line.startswith("flowgate_audit_verify_ok")
    ]


def test_the_last_verification_is_a_metric_and_a_broken_chain_sets_it_to_0(client):
    # no verification yet: no sample (no result is not a good result)
    assert _verify_metric(client) == []
    for n in range(3):
        record(AuditAction.TASK_CLAIMED, task_id=n + 1)
    chain_link_pending()
    before = time.time()
    call_command("audit_verify", stdout=None)
    assert _verify_metric(client) == ["flowgate_audit_verify_ok 1.0"]
    stamp = next(
        line
        for line in client.get("/metrics").content.decode().splitlines()
        if line.startswith("flowgate_audit_verify_timestamp_seconds ")
    )
    assert float(stamp.split()[1]) >= before - 1

    # an altered event: the command fails, and the metric says so
    tamper("UPDATE audit_auditevent SET actor_label = 'mallory' WHERE task_id = 2", ())
    with pytest.raises(CommandError):
        call_command("audit_verify")
    assert _verify_metric(client) == ["flowgate_audit_verify_ok 0.0"]
