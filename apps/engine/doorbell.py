"""The engine's doorbell on Redis: Celery's own message for ``engine.answer_doorbell``, pushed
straight onto the queue the workers read (decision 044).

Celery's ``delay()`` builds the same message through its routing, kombu's producer pool and
channel machinery: 0.43 ms of CPU and 1.4 ms of wall time per doorbell on the benchmark machine,
against 0.04 ms and 0.26 ms for the one LPUSH it comes down to — a fifth of an instance start.
Only the shape of Celery's task message (protocol 2) is relied on, which Celery has kept since
4.0; a worker sees no difference (tests/engine/test_doorbell.py has a real worker answer it).

Used only where it is exactly what Celery would do: a ``redis://`` broker, the task on the
default queue at the default priority, not eager. Anything else rings through Celery. A Redis
that cannot be reached raises, as ``delay()`` did: the hook logs it and the sweeper rings again
from the rows.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
import uuid
from typing import Any

import redis

from apps.common import tracing

#: Fail fast, as the broker's transport options do: a start must not hang on a lost Redis.
TIMEOUT_SECONDS = 1.0
_EMBED = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}
_HOST = socket.gethostname()
_clients: dict[str, redis.Redis] = {}
_lock = threading.Lock()


def _client(url: str) -> redis.Redis:
    client = _clients.get(url)
    if client is None:
        with _lock:  # redis-py's pool is thread-safe and resets itself after a fork
            client = _clients.setdefault(
                url,
                redis.Redis.from_url(
                    url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS
                ),
            )
    return client


def direct_queue(app, task_name: str) -> str | None:
    """The Redis list a message for ``task_name`` goes to when Celery would put it there
    unchanged (Redis broker, no route, default exchange and priority, not eager); else None."""
    conf = app.conf
    url = conf.broker_url or ""
    if not url.startswith(("redis://", "rediss://")) or conf.task_always_eager:
        return None
    if conf.task_routes or conf.task_queues or conf.task_default_priority not in (None, 0):
        return None
    if (conf.broker_transport_options or {}).get("global_keyprefix"):  # kombu prefixes keys
        return None
    if conf.task_default_exchange not in (None, "", conf.task_default_queue):
        return None
    return conf.task_default_queue


def message(task_name: str, args: tuple, *, queue: str, origin: str | None = None) -> bytes:
    """Celery's protocol-2 task message for ``task_name(*args)``, as kombu's Redis transport
    stores it (JSON body, base64-encoded, with its delivery properties)."""
    task_id = str(uuid.uuid4())
    body = json.dumps([list(args), {}, _EMBED]).encode()
    headers: dict[str, Any] = {
        "lang": "py",
        "task": task_name,
        "id": task_id,
        "shadow": None,
        "eta": None,
        "expires": None,
        "group": None,
        "group_index": None,
        "retries": 0,
        "timelimit": [None, None],
        "root_id": task_id,
        "parent_id": None,
        "argsrepr": repr(tuple(args)),
        "kwargsrepr": "{}",
        "origin": origin or f"gen{os.getpid()}@{_HOST}",
        "ignore_result": True,
        "replaced_task_nesting": 0,
        "stamped_headers": None,
        "stamps": {},
    }
    tracing.inject(headers)  # the current span, as the Celery instrumentation adds it
    return json.dumps(
        {
            "body": base64.b64encode(body).decode(),
            "content-encoding": "utf-8",
            "content-type": "application/json",
            "headers": headers,
            "properties": {
                "correlation_id": task_id,
                "reply_to": "",
                "delivery_mode": 2,
                "delivery_info": {"exchange": "", "routing_key": queue},
                "priority": 0,
                "body_encoding": "base64",
                "delivery_tag": str(uuid.uuid4()),
            },
        }
    ).encode()


def ring(app, task, *args) -> None:
    """Send ``task(*args)`` to the workers: one LPUSH when ``direct_queue`` allows, else
    Celery's ``apply_async``."""
    queue = direct_queue(app, task.name)
    if queue is None or not task.ignore_result:
        task.apply_async(args)
        return
    _client(app.conf.broker_url).lpush(queue, message(task.name, args, queue=queue))
