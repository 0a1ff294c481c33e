"""Ring a Channels group from synchronous code (a view's or a worker's ``on_commit``) cheaply.

``async_to_sync(layer.group_send)`` from a thread without an event loop runs the coroutine in a
fresh loop each time, and channels_redis keeps its connection pool per loop: every call opened a
new Redis connection. Measured here: 10–14 ms per call against 0.6 ms on a loop that stays up.
A Celery worker did that on every automated advance (the requester's live pages), which cost the
engine benchmark about a third of its throughput.

So a process-wide loop runs in a daemon thread and sends are handed to it without waiting: a
live message is a courtesy (browsers re-read the committed ``InboxEvent`` feed after every
message and on reconnect), and the caller's transaction has already committed. A forked child
(Celery prefork) starts its own loop on first use.

Sends wait for one of ``MAX_CONCURRENT_SENDS`` slots on that loop: a burst (a migration batch of
500 instances on four threads) otherwise ran hundreds of sends at once, each taking its own Redis
connection, and Redis answered "Too many connections".

A process-local layer (the embedded default's ``InMemoryChannelLayer``) keeps asyncio queues
bound to the web server's loop; it is called the old way, on the caller's side.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from concurrent.futures import Future
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer

logger = logging.getLogger(__name__)

MAX_CONCURRENT_SENDS = 8

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_loop_pid: int | None = None
_slots: asyncio.Semaphore | None = None


def _background_loop() -> tuple[asyncio.AbstractEventLoop, asyncio.Semaphore]:
    global _loop, _loop_pid, _slots
    with _lock:
        if _loop is None or _slots is None or _loop_pid != os.getpid() or _loop.is_closed():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(
                target=loop.run_forever, name="flowgate-broadcast", daemon=True
            )
            thread.start()
            # Python 3.10+: a Semaphore binds to the loop that first waits on it (this one).
            _loop, _loop_pid, _slots = loop, os.getpid(), asyncio.Semaphore(MAX_CONCURRENT_SENDS)
        return _loop, _slots


def _log_failure(future: Future) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.warning("could not publish a live update", exc_info=future.exception())


def group_send(groups: list[str] | tuple[str, ...], message: dict[str, Any]) -> Future | None:
    """Send ``message`` to each of ``groups`` (duplicates once). Never raises: a failed send is
    logged. Returns the background send's future (tests wait on it), or None when the send was
    made in place or there is no channel layer."""
    layer = get_channel_layer()
    names = list(dict.fromkeys(groups))
    if layer is None or not names:
        return None
    if isinstance(layer, InMemoryChannelLayer):
        try:
            for name in names:
                async_to_sync(layer.group_send)(name, message)
        except Exception:
            logger.warning("could not publish a live update", exc_info=True)
        return None

    loop, slots = _background_loop()

    async def send_all() -> None:
        async with slots:
            for name in names:
                await layer.group_send(name, message)

    future = asyncio.run_coroutine_threadsafe(send_all(), loop)
    future.add_done_callback(_log_failure)
    return future
