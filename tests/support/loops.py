"""Run a coroutine on an event loop of its own thread: the browser tests leave an event loop
running in the main thread, where ``asyncio.run`` and ``async_to_sync`` refuse to work."""

from __future__ import annotations

import asyncio
import threading


def run_async(coroutine_function):
    """``asyncio.run(coroutine_function())`` in a new thread; its result, or its exception."""
    outcome: dict = {}

    def target():
        try:
            outcome["value"] = asyncio.run(coroutine_function())
        except BaseException as exc:  # re-raised in the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(30)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
