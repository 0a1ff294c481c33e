"""Live messages from synchronous code: one long-lived loop per process for Redis, in place for
the in-memory layer, and never an exception for the caller (apps/common/broadcast.py)."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from concurrent import futures

import pytest
import redis.exceptions
from channels.layers import get_channel_layer

from apps.common import broadcast
from tests.support.loops import run_async


@pytest.fixture
def redis_layer(settings):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [os.environ["REDIS_URL"]]},
        }
    }
    return get_channel_layer()


@pytest.mark.integration
def test_a_send_reaches_every_member_of_each_group_once(redis_layer):
    async def join():
        first, second = await redis_layer.new_channel(), await redis_layer.new_channel()
        await redis_layer.group_add("broadcast.test.a", first)
        await redis_layer.group_add("broadcast.test.b", second)
        return first, second

    first, second = run_async(join)
    message = {"type": "inbox.changed", "task": 7}
    future = broadcast.group_send(
        ["broadcast.test.a", "broadcast.test.b", "broadcast.test.a"], message
    )
    assert future is not None
    future.result(timeout=10)

    async def receive():
        got_first = await asyncio.wait_for(redis_layer.receive(first), 5)
        got_second = await asyncio.wait_for(redis_layer.receive(second), 5)
        with pytest.raises(asyncio.TimeoutError):  # the repeated group was sent to once
            await asyncio.wait_for(redis_layer.receive(first), 0.5)
        await redis_layer.group_discard("broadcast.test.a", first)
        await redis_layer.group_discard("broadcast.test.b", second)
        return got_first, got_second

    assert run_async(receive) == (message, message)


@pytest.mark.integration
def test_sends_reuse_one_loop_in_a_process(redis_layer):
    futures = [broadcast.group_send([f"broadcast.test.{n}"], {"type": "x"}) for n in range(3)]
    for future in futures:
        future.result(timeout=10)
    loops = {broadcast._background_loop()[0] for _ in range(3)}
    assert len(loops) == 1
    assert next(iter(loops)).is_running()


@pytest.mark.integration
def test_a_burst_of_sends_holds_at_most_the_slot_count_at_once(redis_layer, monkeypatch):
    """A migration batch publishes hundreds of updates at once: they queue for the loop's slots
    instead of each opening a Redis connection ("Too many connections" before)."""
    real_send = redis_layer.group_send
    running, peak = 0, 0

    async def counted_send(group, message):
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        try:
            await asyncio.sleep(0.005)  # keep each send in flight long enough to overlap
            await real_send(group, message)
        finally:
            running -= 1

    monkeypatch.setattr(redis_layer, "group_send", counted_send)
    sent = [broadcast.group_send([f"broadcast.burst.{n}"], {"type": "x"}) for n in range(100)]
    for future in sent:
        future.result(timeout=30)
    assert peak == broadcast.MAX_CONCURRENT_SENDS  # the slots filled, and never more


def test_an_unreachable_redis_is_logged_not_raised(settings, caplog):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},  # nothing listens on port 1
        }
    }
    with caplog.at_level(logging.WARNING, logger="apps.common.broadcast"):
        future = broadcast.group_send(["broadcast.test.down"], {"type": "x"})  # does not raise
        assert future is not None
        futures.wait([future], timeout=10)
        assert isinstance(future.exception(), redis.exceptions.ConnectionError)
        deadline = time.monotonic() + 5  # the logging callback runs on the loop's thread
        while not caplog.records and time.monotonic() < deadline:
            time.sleep(0.01)
    assert any("could not publish" in record.getMessage() for record in caplog.records)


def test_the_in_memory_layer_is_called_in_place(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

    def scenario():
        layer = get_channel_layer()

        async def join():
            channel = await layer.new_channel()
            await layer.group_add("broadcast.test.memory", channel)
            return channel

        channel = asyncio.run(join())
        assert broadcast.group_send(["broadcast.test.memory"], {"type": "x", "n": 1}) is None

        async def receive():
            return await asyncio.wait_for(layer.receive(channel), 5)

        return asyncio.run(receive())

    outcome: dict = {}
    thread = threading.Thread(target=lambda: outcome.setdefault("message", scenario()))
    thread.start()
    thread.join(30)
    assert outcome["message"] == {"type": "x", "n": 1}


def test_no_groups_or_no_layer_sends_nothing(settings):
    settings.CHANNEL_LAYERS = {}
    assert broadcast.group_send(["broadcast.test.none"], {"type": "x"}) is None


@pytest.mark.integration
def test_an_idle_receiver_outlives_the_layer_s_blocking_pop():
    """channels_redis waits on Redis in blocking pops of 5 s, and redis-py 8 reads with a 5 s
    socket timeout by default: an idle websocket's receive died with "Timeout reading from
    127.0.0.1:6379" about every 5 s (the inbox benchmark saw 50 of 50 hand-offs missed). The
    layer as the settings configure it must wait longer than a pop."""
    layer = get_channel_layer()
    assert type(layer).__name__ == "RedisChannelLayer"

    async def idle_then_receive():
        channel = await layer.new_channel()

        async def later():
            await asyncio.sleep(layer.brpop_timeout + 1.5)
            await layer.send(channel, {"type": "inbox.changed"})

        sender = asyncio.ensure_future(later())
        try:
            return await asyncio.wait_for(layer.receive(channel), layer.brpop_timeout * 3)
        finally:
            await sender

    assert run_async(idle_then_receive) == {"type": "inbox.changed"}
