"""The one store of per-target state (``connectors.http.shared_state``) that the circuit breaker
and the target limits share: both kinds in both places, and no row for a state that stays empty."""

from __future__ import annotations

import os
import uuid

import pytest

from apps.connectors.http import breaker, limits, shared_state
from apps.connectors.models import Circuit, TargetLimitState


@pytest.fixture(params=["database", "redis"])
def where(request, settings, db):
    settings.REDIS_URL = (
        (os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/2")
        if request.param == "redis"
        else ""
    )
    return request.param


@pytest.mark.parametrize("kind", [breaker.CIRCUITS, limits.LIMITS])
def test_each_kind_is_read_back_as_written_and_deleted(where, kind):
    key = f"http://shared-{uuid.uuid4().hex[:8]}.test:80"
    store = shared_state.store(kind)
    assert isinstance(
        store, shared_state.RedisStore if where == "redis" else shared_state.DatabaseStore
    )
    written = (
        breaker.CircuitState(state=breaker.OPEN, failures=3, open_until=1_900_000_000.0, deferred=2)
        if kind is breaker.CIRCUITS
        else limits.LimitState(leases={"t": 1_900_000_000.0}, starts=(1.5, 2.5), deferred=4)
    )
    assert store.update(key, lambda state: (state, written)) == kind.empty()
    assert store.update(key, lambda state: (state, None)) == written
    assert store.all()[key] == written
    assert store.delete(key) is True
    assert key not in store.all()
    assert store.delete(key) is False


def test_the_database_writes_no_row_for_a_state_that_stays_empty(settings, db):
    settings.REDIS_URL = ""
    key = "http://never-limited.test:80"
    limits.release_slot(key, "a-token-of-a-reset-target")
    breaker.after_call(key, ok=True)
    assert not TargetLimitState.objects.filter(key=key).exists()
    assert not Circuit.objects.filter(key=key).exists()
