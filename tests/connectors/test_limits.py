"""Concurrency and rate limits per target: the pure transitions, and both stores (Redis and the
database) through the HTTP connector against a real local server, from forked processes."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
import uuid

import pytest
from django.db import connections

from apps.connectors.base import CircuitOpen, ConnectorError, ExecutionContext, TargetLimited
from apps.connectors.http import breaker, limits
from apps.connectors.http.connector import HttpConnector
from apps.connectors.http.limits import Decision, LimitState, TargetLimit, admit, release
from tests.connectors.servers import LocalServer

T0 = 1_800_000_000.0


# --- the transitions ---------------------------------------------------------------------------


def test_the_concurrency_limit_counts_live_leases_and_forgets_expired_ones():
    limit = TargetLimit(concurrency=2)
    state = LimitState()
    first, state = admit(state, T0, limit, token="a", lease_until=T0 + 10)
    second, state = admit(state, T0, limit, token="b", lease_until=T0 + 20)
    assert (first.allowed, second.allowed, state.leases) == (
        True,
        True,
        {"a": T0 + 10, "b": T0 + 20},
    )
    # full: try again in a second (nobody knows when a call ends)
    assert admit(state, T0 + 1, limit, token="c", lease_until=T0 + 11) == (
        Decision(False, "concurrency", T0 + 2),
        LimitState(state.leases, (), deferred=1),  # the refusal is counted (decision 039)
    )
    # ... or when the oldest lease expires, if that is sooner
    assert admit(state, T0 + 9.5, limit, token="c", lease_until=T0 + 20)[0].wait_until == T0 + 10
    # a lease whose holder never came back expires: its slot is free again
    decision, after = admit(state, T0 + 10, limit, token="c", lease_until=T0 + 30)
    assert decision.allowed and after.leases == {"b": T0 + 20, "c": T0 + 30}
    # released on the call's end
    assert release(after, "b").leases == {"c": T0 + 30}
    assert release(after, "unknown") is None


def test_the_rate_limit_keeps_the_starts_of_the_last_period():
    limit = TargetLimit(rate=3, period=1.0)
    state = LimitState()
    for at in (T0, T0 + 0.2, T0 + 0.5):
        decision, state = admit(state, at, limit, token="x", lease_until=0)
        assert decision.allowed
    assert state.leases == {}  # no concurrency limit: no lease to keep
    # the 4th call in the same second waits until the oldest start leaves the window
    assert admit(state, T0 + 0.6, limit, token="x", lease_until=0)[0] == Decision(
        False, "rate", T0 + 1.0
    )
    decision, state = admit(state, T0 + 1.0, limit, token="x", lease_until=0)
    assert decision.allowed and state.starts == (T0 + 0.2, T0 + 0.5, T0 + 1.0)


def test_limits_are_set_per_target(settings):
    settings.FLOWGATE_HTTP_LIMIT_TARGETS = {
        "https://api.example:443": {"concurrency": 5, "rate": 10},
        "https://slow.example:443": {"rate": 2, "period": 60, "retry": 5},
    }
    assert TargetLimit.from_settings("https://api.example:443") == TargetLimit(5, 10, 1.0, 1.0)
    assert TargetLimit.from_settings("https://slow.example:443") == TargetLimit(0, 2, 60.0, 5.0)
    assert TargetLimit.from_settings("https://other.example:443").active is False


# --- both stores, through acquire/release ------------------------------------------------------


def _use_store(settings, store: str) -> None:
    settings.REDIS_URL = (
        (os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/2") if store == "redis" else ""
    )


@pytest.fixture(params=["database", "redis"])
def limited(request, settings, db):
    _use_store(settings, request.param)
    key = f"http://limits-{uuid.uuid4().hex[:8]}.test:80"
    settings.FLOWGATE_HTTP_LIMIT_TARGETS = {key: {"concurrency": 1, "rate": 2}}
    yield key
    limits.limits_reset(key)


def test_each_store_holds_a_second_call_until_the_slot_is_released(limited, monkeypatch):
    key = limited
    monkeypatch.setattr(limits, "LEASE_MARGIN_SECONDS", 0.0)
    slot = limits.acquire(key, lease_seconds=30, now=T0)
    assert slot is not None
    with pytest.raises(TargetLimited) as caught:
        limits.acquire(key, lease_seconds=30, now=T0 + 0.25)
    assert caught.value.spends_attempt is False
    assert caught.value.permanent is False
    assert caught.value.retry_after == 1.0
    assert caught.value.message == (
        f"concurrency limit for {key}: at most 1 calls at once; next try at "
        "2027-01-15T08:00:01.250Z; this step waits without spending an attempt."
    )
    limits.release_slot(key, slot)
    second = limits.acquire(key, lease_seconds=30, now=T0 + 0.5)
    limits.release_slot(key, second)
    # two starts within a second: the third waits for the rate window
    with pytest.raises(TargetLimited) as caught:
        limits.acquire(key, lease_seconds=30, now=T0 + 0.75)
    assert caught.value.message.startswith(
        f"rate limit for {key}: at most 2 calls per second; next try at 2027-01-15T08:00:01.000Z"
    )
    assert caught.value.retry_after == 0.25


def test_each_store_frees_a_slot_whose_holder_never_released_it(limited, monkeypatch):
    key = limited
    monkeypatch.setattr(limits, "LEASE_MARGIN_SECONDS", 0.0)
    limits.acquire(key, lease_seconds=10, now=T0)  # its holder dies: never released
    with pytest.raises(TargetLimited):
        limits.acquire(key, lease_seconds=10, now=T0 + 9.9)
    assert limits.acquire(key, lease_seconds=10, now=T0 + 10) is not None


def test_an_unlimited_target_does_not_touch_the_store(settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens: any round trip would fail
    settings.FLOWGATE_HTTP_LIMIT_TARGETS = {}
    assert limits.acquire("http://free.test:80", lease_seconds=5) is None


def test_an_unreachable_store_lets_the_call_through(settings, caplog):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    settings.FLOWGATE_HTTP_LIMIT_TARGETS = {"http://down.test:80": {"concurrency": 1}}
    assert limits.acquire("http://down.test:80", lease_seconds=5) is None
    assert "target limits store unavailable (ConnectionError); calling" in caplog.text


# --- forked worker processes against the local server ------------------------------------------


def _context(call: int) -> ExecutionContext:
    return ExecutionContext(
        idempotency_key=f"p{os.getpid()}-{call}",
        instance_id=1,
        activity_id="a",
        job_id=1,
        attempt=1,
        timeout=5.0,
    )


def _calls(url: str, count: int, start, results) -> None:
    """One worker process making ``count`` calls; a held-back call waits as the runtime would
    (``retry_after``) and tries again. Reports how many times it was held back."""
    start.wait(10)
    held = 0
    for call in range(count):
        while True:
            try:
                HttpConnector().execute({"url": url}, _context(call))
                break
            except TargetLimited as exc:
                held += 1
                time.sleep(min(exc.retry_after or 0.05, 1.0))
            except ConnectorError:
                break
    connections.close_all()
    results.put(held)


def _run_workers(url: str, processes: int, count: int) -> int:
    ctx = multiprocessing.get_context("fork")
    start, results = ctx.Event(), ctx.Queue()
    workers = [
        ctx.Process(target=_calls, args=(url, count, start, results)) for _ in range(processes)
    ]
    connections.close_all()  # a forked child must not share the parent's socket
    try:
        for worker in workers:
            worker.start()
        start.set()
        held = sum(results.get(timeout=60) for _ in workers)
        for worker in workers:
            worker.join(10)
        return held
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.kill()


STORES = ["redis", pytest.param("database", marks=pytest.mark.postgres_only)]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("store", STORES)
def test_parallel_workers_never_exceed_the_concurrency_limit(settings, store):
    _use_store(settings, store)
    with LocalServer() as server:
        settings.FLOWGATE_HTTP_ALLOWLIST = [f"127.0.0.1:{server.port}"]
        target = f"http://127.0.0.1:{server.port}"
        settings.FLOWGATE_HTTP_LIMIT_TARGETS = {target: {"concurrency": 2}}
        try:
            held = _run_workers(server.url("/hold?seconds=0.3"), processes=5, count=2)
            assert len(server.recorder.requests) == 10  # every call was made, in the end
            assert server.recorder.max_in_flight == 2  # never more than the limit at once
            assert held > 0  # and some calls really had to wait for a slot
        finally:
            limits.limits_reset(target)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("store", STORES)
def test_parallel_workers_obey_the_rate_limit(settings, store):
    _use_store(settings, store)
    with LocalServer() as server:
        settings.FLOWGATE_HTTP_ALLOWLIST = [f"127.0.0.1:{server.port}"]
        target = f"http://127.0.0.1:{server.port}"
        settings.FLOWGATE_HTTP_LIMIT_TARGETS = {target: {"rate": 4}}
        try:
            _run_workers(server.url("/ok"), processes=3, count=4)
            arrivals = sorted(request.at for request in server.recorder.requests)
            assert len(arrivals) == 12
            # any 5 consecutive calls span at least a second (less the network's jitter)
            assert min(arrivals[i + 4] - arrivals[i] for i in range(8)) >= 0.9
            assert arrivals[-1] - arrivals[0] >= 1.9  # 12 calls at 4/s: three windows
        finally:
            limits.limits_reset(target)


def _dies_mid_call(url: str) -> None:
    HttpConnector().execute({"url": url, "timeout": 1.5}, _context(0))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("store", STORES)
def test_a_slot_held_by_a_killed_worker_frees_itself_after_its_lease(settings, store, monkeypatch):
    _use_store(settings, store)
    monkeypatch.setattr(limits, "LEASE_MARGIN_SECONDS", 0.0)  # the lease: the call's 1.5 s
    with LocalServer() as server:
        settings.FLOWGATE_HTTP_ALLOWLIST = [f"127.0.0.1:{server.port}"]
        target = f"http://127.0.0.1:{server.port}"
        settings.FLOWGATE_HTTP_LIMIT_TARGETS = {target: {"concurrency": 1}}
        connections.close_all()
        worker = multiprocessing.get_context("fork").Process(
            target=_dies_mid_call, args=(server.url("/hold?seconds=30"),)
        )
        try:
            worker.start()
            deadline = time.monotonic() + 10
            while server.recorder.in_flight == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert server.recorder.in_flight == 1
            killed_at = time.monotonic()
            os.kill(worker.pid, signal.SIGKILL)  # no finally, no release
            worker.join(5)
            with pytest.raises(TargetLimited, match="concurrency limit for"):
                HttpConnector().execute({"url": server.url("/ok")}, _context(1))
            while True:  # wait on the condition: the lease expires, the next call goes
                try:
                    answer = HttpConnector().execute({"url": server.url("/ok")}, _context(2))
                    break
                except TargetLimited as exc:
                    assert time.monotonic() < deadline
                    time.sleep(min(exc.retry_after or 0.05, 0.2))
            assert answer["status"] == 200
            assert time.monotonic() - killed_at < 3.0  # about the 1.5 s lease, not the 30 s call
        finally:
            limits.limits_reset(target)
            if worker.is_alive():
                worker.kill()


@pytest.mark.parametrize("store", ["database", "redis"])
def test_the_slot_is_released_on_success_failure_timeout_and_an_open_circuit(
    allow_server, settings, store, db
):
    _use_store(settings, store)
    target = f"http://127.0.0.1:{allow_server.port}"
    settings.FLOWGATE_HTTP_LIMIT_TARGETS = {target: {"concurrency": 1}}
    settings.FLOWGATE_HTTP_BREAKER_FAILURES = 2
    connector = HttpConnector()
    try:
        assert connector.execute({"url": allow_server.url("/ok")}, _context(0))["status"] == 200
        with pytest.raises(ConnectorError, match="503"):
            connector.execute({"url": allow_server.url("/status/503")}, _context(1))
        with pytest.raises(ConnectorError, match="did not finish within its 0.3s timeout"):
            connector.execute({"url": allow_server.url("/slow"), "timeout": 0.3}, _context(2))
        with pytest.raises(CircuitOpen):  # two failures in a row opened it: no call, no slot
            connector.execute({"url": allow_server.url("/ok")}, _context(3))
        # after all that, the one slot is free: a call is neither held nor refused
        assert limits.acquire(target, lease_seconds=5) is not None
        assert len(allow_server.recorder.requests) == 3
    finally:
        limits.limits_reset(target)
        breaker.circuit_reset(target)
