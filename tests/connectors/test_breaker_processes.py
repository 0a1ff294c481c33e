"""The breaker is shared by worker *processes*: four forked processes, each calling an
always-503 local server ten times through the HTTP connector, make a handful of calls between
them instead of forty (each process with its own breaker would make 4 x 5 = 20)."""

from __future__ import annotations

import multiprocessing
import os

import pytest
from django.db import connections

from apps.connectors.base import CircuitOpen, ConnectorError, ExecutionContext
from apps.connectors.http import breaker
from apps.connectors.http.connector import HttpConnector
from tests.connectors.servers import LocalServer

PROCESSES, CALLS, THRESHOLD = 4, 10, 5


def _calls(url: str, start, results) -> None:
    """One worker process: ten steps calling ``url``; counts the calls held back."""
    start.wait(10)
    held = 0
    for call in range(CALLS):
        context = ExecutionContext(
            idempotency_key=f"p{os.getpid()}-{call}",
            instance_id=1,
            activity_id="a",
            job_id=1,
            attempt=1,
        )
        try:
            HttpConnector().execute({"url": url}, context)
        except CircuitOpen:
            held += 1
        except ConnectorError:
            pass
    connections.close_all()  # our own (the parent closed its before the fork)
    results.put(held)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "store", ["redis", pytest.param("database", marks=pytest.mark.postgres_only)]
)
def test_forked_workers_share_one_circuit(settings, store):
    settings.REDIS_URL = (
        (os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/2") if store == "redis" else ""
    )
    settings.FLOWGATE_HTTP_BREAKER_FAILURES = THRESHOLD
    settings.FLOWGATE_HTTP_BREAKER_COOLDOWN_SECONDS = 60
    ctx = multiprocessing.get_context("fork")
    with LocalServer() as server:
        settings.FLOWGATE_HTTP_ALLOWLIST = [f"127.0.0.1:{server.port}"]
        target = f"http://127.0.0.1:{server.port}"
        start, results = ctx.Event(), ctx.Queue()
        workers = [
            ctx.Process(target=_calls, args=(server.url("/status/503"), start, results))
            for _ in range(PROCESSES)
        ]
        connections.close_all()  # a forked child must not share the parent's socket
        try:
            for worker in workers:
                worker.start()
            start.set()
            held = sum(results.get(timeout=60) for _ in workers)
            for worker in workers:
                worker.join(10)
            calls = len(server.recorder.requests)
            # the threshold, plus at most one call per other process already in flight
            assert THRESHOLD <= calls <= THRESHOLD + PROCESSES - 1
            assert calls + held == PROCESSES * CALLS
            assert breaker.circuits()[target].state == breaker.OPEN
        finally:
            breaker.circuit_reset(target)
            for worker in workers:
                if worker.is_alive():
                    worker.kill()
