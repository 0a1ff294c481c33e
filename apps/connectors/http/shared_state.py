"""One state per target origin, shared by every worker process: the one store of the circuit
breaker (``breaker``) and the concurrency and rate limits (``limits``), decision 029.

The state lives in Redis when ``REDIS_URL`` is set (one JSON value per key, read and written in
a WATCH/MULTI transaction), else in the database (one row per key, updated under
``select_for_update``): both are seen by every worker process, which process memory is not.
A :class:`StateKind` says how one kind of state is kept (its Redis prefix, JSON and expiry, its
model and columns); the transitions stay pure functions in their own modules, handed to
``update`` as ``state -> (result, new state or None: unchanged)``.

Callers fail open: an error of :data:`STORE_ERRORS` (or any other) lets the call go.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Generic, TypeVar

import redis
from django.conf import settings
from django.db import DatabaseError, models, transaction

S = TypeVar("S")

STORE_ERRORS = (redis.RedisError, DatabaseError, OSError)


@dataclass(frozen=True)
class StateKind(Generic[S]):
    """How one kind of per-target state is kept, in Redis and in the database."""

    redis_prefix: str
    empty: Callable[[], S]
    dumps: Callable[[S], str]
    loads: Callable[[bytes | str], S]  # a stored (non-empty) Redis value
    redis_ttl: Callable[[S], int]  # seconds Redis keeps a value just written
    model: type[models.Model]  # with a unique ``key``
    from_row: Callable[[Any], S]
    row_fields: Callable[[S], dict[str, Any]]  # the columns an UPDATE writes


Update = Callable[[S], tuple[object, S | None]]


class RedisStore(Generic[S]):
    def __init__(self, kind: StateKind[S], client: redis.Redis):
        self.kind = kind
        self.client = client

    def _load(self, raw: bytes | str | None) -> S:
        return self.kind.loads(raw) if raw else self.kind.empty()

    def update(self, key: str, fn: Update[S]) -> object:
        """Apply ``fn`` to ``key``'s state atomically (retried when another process wrote the
        key meanwhile); returns fn's result."""
        name = self.kind.redis_prefix + key
        outcome: list[object] = []

        def attempt(pipe: redis.client.Pipeline) -> None:
            outcome.clear()
            result, new = fn(self._load(pipe.get(name)))
            outcome.append(result)
            pipe.multi()
            if new is not None:
                pipe.set(name, self.kind.dumps(new), ex=self.kind.redis_ttl(new))

        self.client.transaction(attempt, name)
        return outcome[0]

    def all(self) -> dict[str, S]:
        prefix = self.kind.redis_prefix
        return {
            name.decode()[len(prefix) :]: self._load(self.client.get(name))
            for name in self.client.scan_iter(match=prefix + "*", count=500)
        }

    def delete(self, key: str) -> bool:
        return bool(self.client.delete(self.kind.redis_prefix + key))


class DatabaseStore(Generic[S]):
    def __init__(self, kind: StateKind[S]):
        self.kind = kind

    def update(self, key: str, fn: Update[S]) -> object:
        """Apply ``fn`` to ``key``'s state under its row lock; returns fn's result. No row is
        written while the state stays empty and unchanged."""
        manager = self.kind.model._default_manager
        with transaction.atomic():
            row = manager.select_for_update().filter(key=key).first()
            if row is None:
                result, new = fn(self.kind.empty())
                if new is None:
                    return result
                # First write for this key: several processes may get here at once. Insert or
                # find the row (ON CONFLICT DO NOTHING), then decide again under its lock.
                manager.bulk_create([self.kind.model(key=key)], ignore_conflicts=True)
                row = manager.select_for_update().get(key=key)
            result, new = fn(self.kind.from_row(row))
            if new is not None:
                manager.filter(pk=row.pk).update(**self.kind.row_fields(new))
        return result

    def all(self) -> dict[str, S]:
        rows: Iterable[Any] = self.kind.model._default_manager.order_by("key")
        return {row.key: self.kind.from_row(row) for row in rows}

    def delete(self, key: str) -> bool:
        return self.kind.model._default_manager.filter(key=key).delete()[0] > 0


@lru_cache(maxsize=4)
def _redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def store(kind: StateKind[S]) -> RedisStore[S] | DatabaseStore[S]:
    """Where ``kind`` lives now: Redis when ``REDIS_URL`` is set, else the database."""
    if settings.REDIS_URL:
        return RedisStore(kind, _redis_client(settings.REDIS_URL))
    return DatabaseStore(kind)
