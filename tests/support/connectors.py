"""Connectors used by the engine's tests. They run inside a real worker process, so
they report through Redis (the test reads it back): every call is recorded with its idempotency key.

The worker loads them with FLOWGATE_CONNECTOR_MODULES=tests.support.worker_connectors; in the
test process the ``test_connectors`` fixture registers them for one test and removes them after.
"""

from __future__ import annotations

import json
import os
import time

import redis

from apps.connectors.base import BusinessError, ConnectorError
from apps.connectors.registry import FunctionConnector, register, unregister

CALLS_KEY = "flowgate:test:calls"


def _redis() -> redis.Redis:
    return redis.Redis.from_url(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")


def calls() -> list[dict]:
    return [json.loads(raw) for raw in _redis().lrange(CALLS_KEY, 0, -1)]


def reset() -> None:
    client = _redis()
    client.delete(CALLS_KEY)
    for key in client.scan_iter("flowgate:test:attempts:*"):
        client.delete(key)


def _record(inputs, context, name: str, **extra) -> int:
    client = _redis()
    client.rpush(
        CALLS_KEY,
        json.dumps(
            {
                "connector": name,
                "key": context.idempotency_key,
                "instance": context.instance_id,
                "activity": context.activity_id,
                "attempt": context.attempt,
                "pid": os.getpid(),
                **extra,
            }
        ),
    )
    return int(client.incr(f"flowgate:test:attempts:{name}:{context.idempotency_key}"))


def test_record(inputs, context):
    """Records the call and echoes its inputs; sleeps `sleep` seconds first when given."""
    if inputs.get("sleep"):
        time.sleep(float(inputs["sleep"]))
    _record(inputs, context, "test_record")
    return {**inputs, "recorded": True}


def test_flaky(inputs, context):
    """Fails (retryably) on the first `fail_times` calls of an activation, then succeeds."""
    seen = _record(inputs, context, "test_flaky")
    if seen <= int(inputs.get("fail_times", 1)):
        raise ConnectorError(f"flaky failure {seen}", permanent=False)
    return {"succeeded_on": seen}


def test_permanent(inputs, context):
    _record(inputs, context, "test_permanent")
    raise ConnectorError("the remote system rejected the request (400)", permanent=True)


def test_business(inputs, context):
    _record(inputs, context, "test_business")
    raise BusinessError(str(inputs.get("code", "CREDIT_DENIED")), "credit check failed")


def test_record_tx(inputs, context):
    """``test_record`` registered as chainable: run ahead, applied with the steps around it."""
    if inputs.get("sleep"):
        time.sleep(float(inputs["sleep"]))
    from django.db import connection

    # The worker's database session (the test checks that one session serves every job).
    connection.ensure_connection()
    _record(inputs, context, "test_record_tx", backend_pid=connection.connection.info.backend_pid)
    return {**inputs, "recorded": True}


def test_stubborn(inputs, context):
    """Sleeps `sleep` seconds and swallows anything that tries to stop it (the soft time limit
    included): only the hard limit, which ends the process, gets it out."""
    _record(inputs, context, "test_stubborn")
    until = time.monotonic() + float(inputs.get("sleep", 60))
    while time.monotonic() < until:
        try:
            time.sleep(0.5)
        except BaseException:  # noqa: S110 (the point of this connector)
            pass
    return {"recorded": True}


TEST_CONNECTORS = {
    "test_record": test_record,
    "test_stubborn": test_stubborn,
    "test_flaky": test_flaky,
    "test_permanent": test_permanent,
    "test_business": test_business,
}
CHAINABLE_TEST_CONNECTORS = {"test_record_tx": test_record_tx}


def register_all(functions: dict | None = None, *, chainable: bool = False) -> list[str]:
    if functions is None:
        register_all(CHAINABLE_TEST_CONNECTORS, chainable=True)
        return [*register_all(TEST_CONNECTORS), *CHAINABLE_TEST_CONNECTORS]
    for name, func in functions.items():
        register(FunctionConnector(func, name=name, chainable=chainable))
    return list(functions)


def unregister_all(names) -> None:
    for name in names:
        unregister(name)
