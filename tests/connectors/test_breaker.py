"""The circuit breaker's transitions, and both of its stores (Redis and the database), shared by
every process that reads them."""

from __future__ import annotations

import os
import uuid

import pytest

from apps.connectors.base import CircuitOpen
from apps.connectors.http import breaker
from apps.connectors.http.breaker import (
    CLOSED,
    HALF_OPEN,
    OPEN,
    BreakerConfig,
    CircuitState,
    admit,
    record,
)

CONFIG = BreakerConfig(failures=3, cooldown=30.0, probe=60.0)
T0 = 1_800_000_000.0


def test_a_closed_circuit_lets_calls_through_and_opens_after_n_consecutive_failures():
    state = CircuitState()
    assert admit(state, T0, CONFIG) == (breaker.Admission(allowed=True), None)
    state = record(state, ok=False, now=T0, config=CONFIG)
    state = record(state, ok=False, now=T0, config=CONFIG)
    assert (state.state, state.failures) == (CLOSED, 2)
    state = record(state, ok=False, now=T0 + 1, config=CONFIG, error="503")
    assert state == CircuitState(
        state=OPEN, failures=3, open_until=T0 + 31, probe_until=0.0, last_error="503"
    )


def test_a_success_resets_the_count():
    state = record(CircuitState(), ok=False, now=T0, config=CONFIG)
    assert record(state, ok=True, now=T0, config=CONFIG) == CircuitState()
    assert record(CircuitState(), ok=True, now=T0, config=CONFIG) is None  # no write


def test_an_open_circuit_holds_calls_back_until_the_cool_down_then_lets_one_probe_through():
    state = CircuitState(state=OPEN, failures=3, open_until=T0 + 30)
    assert admit(state, T0 + 29, CONFIG) == (
        breaker.Admission(allowed=False, wait_until=T0 + 30),
        CircuitState(state=OPEN, failures=3, open_until=T0 + 30, deferred=1),  # counted
    )
    admission, probing = admit(state, T0 + 30, CONFIG)
    assert admission == breaker.Admission(allowed=True, probe=True)
    assert (probing.state, probing.probe_until) == (HALF_OPEN, T0 + 90)
    # while the probe is in flight, others wait (a cool-down, at most until the probe's time)
    assert admit(probing, T0 + 31, CONFIG)[0] == breaker.Admission(
        allowed=False, wait_until=T0 + 61
    )
    # a probe that never reports back frees the circuit for another probe
    assert admit(probing, T0 + 90, CONFIG)[0].probe is True


def test_the_probe_decides():
    probing = CircuitState(state=HALF_OPEN, failures=3, open_until=T0, probe_until=T0 + 60)
    assert record(probing, ok=True, now=T0 + 1, config=CONFIG) == CircuitState()
    reopened = record(probing, ok=False, now=T0 + 1, config=CONFIG)
    assert (reopened.state, reopened.open_until, reopened.failures) == (OPEN, T0 + 31, 4)


@pytest.fixture(params=["database", "redis"])
def shared_store(request, settings, db):
    settings.FLOWGATE_HTTP_BREAKER_FAILURES = 2
    settings.FLOWGATE_HTTP_BREAKER_COOLDOWN_SECONDS = 10
    settings.FLOWGATE_HTTP_BREAKER_PROBE_SECONDS = 20
    if request.param == "redis":
        settings.REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/2"
    else:
        settings.REDIS_URL = ""
    key = f"http://breaker-{uuid.uuid4().hex[:8]}.test:80"
    yield key
    breaker.circuit_reset(key)


def test_each_store_opens_half_opens_and_closes_the_shared_circuit(shared_store):
    key = shared_store
    assert breaker.before_call(key, now=T0) is False
    breaker.after_call(key, ok=False, error="503 one", now=T0)
    breaker.after_call(key, ok=False, error="503 two", now=T0 + 1)
    assert breaker.circuits()[key].state == OPEN
    with pytest.raises(CircuitOpen) as caught:
        breaker.before_call(key, now=T0 + 5)
    assert caught.value.retry_after == 6.0
    assert caught.value.spends_attempt is False
    assert caught.value.message.startswith(
        f"circuit open for host {key} until 2027-01-15T08:00:11Z"
    )
    assert breaker.before_call(key, now=T0 + 11) is True  # the probe
    with pytest.raises(CircuitOpen):  # a second caller waits for the probe's verdict
        breaker.before_call(key, now=T0 + 12)
    breaker.after_call(key, ok=True, now=T0 + 12)
    assert breaker.circuits()[key] == CircuitState(deferred=2)  # closed; 2 calls were held
    assert breaker.before_call(key, now=T0 + 13) is False


def test_a_manual_reset_closes_an_open_circuit(shared_store):
    key = shared_store
    for _ in range(2):
        breaker.after_call(key, ok=False, now=T0)
    assert breaker.circuit_reset(key) is True
    assert breaker.before_call(key, now=T0 + 1) is False


def test_thresholds_can_be_set_per_target(settings):
    settings.FLOWGATE_HTTP_BREAKER_FAILURES = 5
    settings.FLOWGATE_HTTP_BREAKER_COOLDOWN_SECONDS = 30
    settings.FLOWGATE_HTTP_BREAKER_PROBE_SECONDS = 150
    settings.FLOWGATE_HTTP_BREAKER_TARGETS = {
        "https://fragile.example:443": {"failures": 2, "cooldown": 120}
    }
    assert BreakerConfig.from_settings("https://fragile.example:443") == BreakerConfig(
        failures=2, cooldown=120.0, probe=150.0
    )
    assert BreakerConfig.from_settings("https://other.example:443") == BreakerConfig(
        failures=5, cooldown=30.0, probe=150.0
    )


def test_an_unreachable_store_lets_the_call_through(settings, caplog):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    key = "http://store-down.test:80"
    assert breaker.before_call(key) is False  # called, unprotected
    breaker.after_call(key, ok=False)
    assert "circuit breaker store unavailable (ConnectionError); calling" in caplog.text
