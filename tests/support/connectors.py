"""Connectors used by the engine's integration tests. They run inside a real worker process, so
they report through Redis (the test reads it back): every call is recorded with its idempotency key.

Loaded in the worker with FLOWGATE_CONNECTOR_MODULES=tests.support.connectors.
"""

from __future__ import annotations

import json
import os
import time

import redis

from apps.connectors.base import BusinessError, ConnectorError
from apps.connectors.registry import function

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


def _record(inputs, context, name: str) -> int:
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
            }
        ),
    )
    return int(client.incr(f"flowgate:test:attempts:{name}:{context.idempotency_key}"))


@function("test_record", label="Test: record the call")
def test_record(inputs, context):
    """Records the call and echoes its inputs; sleeps `sleep` seconds first when given."""
    if inputs.get("sleep"):
        time.sleep(float(inputs["sleep"]))
    _record(inputs, context, "test_record")
    return {**inputs, "recorded": True}


@function("test_flaky", label="Test: fail the first N calls")
def test_flaky(inputs, context):
    """Fails (retryably) on the first `fail_times` calls of an activation, then succeeds."""
    seen = _record(inputs, context, "test_flaky")
    if seen <= int(inputs.get("fail_times", 1)):
        raise ConnectorError(f"flaky failure {seen}", permanent=False)
    return {"succeeded_on": seen}


@function("test_permanent", label="Test: always fail permanently")
def test_permanent(inputs, context):
    _record(inputs, context, "test_permanent")
    raise ConnectorError("the remote system rejected the request (400)", permanent=True)


@function("test_business", label="Test: raise a business error")
def test_business(inputs, context):
    _record(inputs, context, "test_business")
    raise BusinessError(str(inputs.get("code", "CREDIT_DENIED")), "credit check failed")
