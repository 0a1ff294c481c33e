"""Concurrency and rate limits per target origin, shared by every worker process (decision 029).

``FLOWGATE_HTTP_LIMIT_TARGETS`` names the limited origins, e.g. ``{"http://h:8080":
{"concurrency": 5, "rate": 10, "period": 1}}``: at most 5 calls in flight and 10 call starts per
second. A call over a limit is not made: it raises :class:`TargetLimited`, which the runtime turns
into a short wait without spending an attempt, exactly like a step held by an open circuit.

A call in flight holds a **lease** (a random token with an expiry: the call's own deadline plus a
margin), released when the call ends, whatever the outcome; a worker killed mid-call cannot
release it, so the lease simply expires. The rate limit keeps the start times of the last
``period`` seconds (a sliding-window log: exact, and small at these rates).

State lives in the breaker's store (``shared_state``): one JSON value per origin in Redis
(WATCH/MULTI) when ``REDIS_URL`` is set, else one ``TargetLimitState`` row under
``select_for_update``. Like the
breaker, the limits never stop work by their own trouble: an unreachable store lets the call go.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, cast

from django.conf import settings

from apps.connectors.base import TargetLimited
from apps.connectors.models import TargetLimitState

from . import shared_state
from .shared_state import DatabaseStore, RedisStore, StateKind

logger = logging.getLogger(__name__)

REDIS_PREFIX = "flowgate:limits:"
#: How long after its call's deadline a lease still holds its slot (the call's own cleanup).
LEASE_MARGIN_SECONDS = 5.0
#: A step refused by the concurrency limit tries again this soon (or when the oldest lease
#: expires, if sooner): nobody knows when a call in flight will end. Per target: "retry".
SLOT_RETRY_SECONDS = 1.0


@dataclass(frozen=True)
class TargetLimit:
    concurrency: int = 0  # 0: no concurrency limit
    rate: int = 0  # 0: no rate limit
    period: float = 1.0
    retry: float = SLOT_RETRY_SECONDS  # seconds a step over the concurrency limit waits

    @property
    def active(self) -> bool:
        return bool(self.concurrency or self.rate)

    @classmethod
    def from_settings(cls, key: str) -> TargetLimit:
        targets = settings.FLOWGATE_HTTP_LIMIT_TARGETS
        own = targets.get(key, {}) if isinstance(targets, dict) else {}
        return cls(
            concurrency=max(0, int(own.get("concurrency", 0))),
            rate=max(0, int(own.get("rate", 0))),
            period=max(0.001, float(own.get("period", 1.0))),
            retry=max(0.05, float(own.get("retry", SLOT_RETRY_SECONDS))),
        )


@dataclass(frozen=True)
class LimitState:
    leases: dict[str, float] = field(default_factory=dict)  # token -> expiry (epoch seconds)
    starts: tuple[float, ...] = ()  # call starts within the last period, oldest first
    deferred: int = 0  # calls refused since the state was created (for /metrics, decision 039)

    def as_json(self) -> dict[str, Any]:
        return {"leases": self.leases, "starts": list(self.starts), "deferred": self.deferred}

    @classmethod
    def from_json(cls, data: Any) -> LimitState:
        try:
            return cls(
                leases={str(k): float(v) for k, v in dict(data.get("leases", {})).items()},
                starts=tuple(sorted(float(s) for s in data.get("starts", []))),
                deferred=int(data.get("deferred", 0)),
            )
        except (AttributeError, TypeError, ValueError):
            return cls()


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""  # "concurrency" or "rate" when refused
    wait_until: float = 0.0


# --- the transitions (pure) --------------------------------------------------------------------


def admit(
    state: LimitState, now: float, limit: TargetLimit, *, token: str, lease_until: float
) -> tuple[Decision, LimitState | None]:
    """May a call start now? Expired leases and starts older than the period are dropped."""
    leases = {t: until for t, until in state.leases.items() if until > now}
    starts = tuple(s for s in state.starts if s > now - limit.period)
    refused = LimitState(leases, starts, state.deferred + 1)
    if limit.concurrency and len(leases) >= limit.concurrency:
        wait = min(min(leases.values()), now + limit.retry)
        return Decision(False, "concurrency", wait), refused
    if limit.rate and len(starts) >= limit.rate:
        wait = starts[len(starts) - limit.rate] + limit.period
        return Decision(False, "rate", wait), refused
    if limit.concurrency:
        leases[token] = lease_until
    if limit.rate:
        starts = (*starts, now)
    return Decision(True), LimitState(leases, starts, state.deferred)


def release(state: LimitState, token: str) -> LimitState | None:
    if token not in state.leases:
        return None
    return replace(state, leases={t: u for t, u in state.leases.items() if t != token})


def in_flight(state: LimitState, now: float) -> int:
    """Calls holding a slot now (unexpired leases)."""
    return sum(1 for until in state.leases.values() if until > now)


def recent_starts(state: LimitState, now: float, limit: TargetLimit) -> int:
    """Call starts within the rate window ending now."""
    return sum(1 for start in state.starts if start > now - limit.period)


# --- where the state lives (shared_state: Redis or the database, as the breaker's) --------------


def _redis_ttl(new: LimitState) -> int:
    """Kept while a lease or a start can still matter; then Redis forgets the key."""
    horizon = max([*new.leases.values(), *new.starts, time.time()]) - time.time()
    return int(horizon) + 3600


LIMITS = StateKind(
    redis_prefix=REDIS_PREFIX,
    empty=LimitState,
    dumps=lambda new: json.dumps(new.as_json()),
    loads=lambda raw: LimitState.from_json(json.loads(raw)),
    redis_ttl=_redis_ttl,
    model=TargetLimitState,
    from_row=lambda row: LimitState.from_json(row.state),
    row_fields=lambda new: {"state": new.as_json()},
)


def store() -> RedisStore[LimitState] | DatabaseStore[LimitState]:
    return shared_state.store(LIMITS)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def _refusal(key: str, limit: TargetLimit, decision: Decision) -> str:
    if decision.reason == "concurrency":
        what = f"concurrency limit for {key}: at most {limit.concurrency} calls at once"
    else:
        per = "second" if limit.period == 1 else f"{limit.period:g} seconds"
        what = f"rate limit for {key}: at most {limit.rate} calls per {per}"
    return (
        f"{what}; next try at {_iso(decision.wait_until)}; "
        "this step waits without spending an attempt."
    )


# --- what the connector calls ------------------------------------------------------------------


def acquire(key: str, *, lease_seconds: float, now: float | None = None) -> str | None:
    """Take a slot for one call to ``key``, or raise :class:`TargetLimited`. Returns the lease
    token to hand to :func:`release` (None: nothing to release)."""
    limit = TargetLimit.from_settings(key)
    if not limit.active:
        return None  # the common case costs no store round trip
    now = time.time() if now is None else now
    token = uuid.uuid4().hex
    lease_until = now + lease_seconds + LEASE_MARGIN_SECONDS

    def take(state: LimitState) -> tuple[object, LimitState | None]:
        return admit(state, now, limit, token=token, lease_until=lease_until)

    try:
        decision = cast(Decision, store().update(key, take))
    except Exception as exc:  # noqa: BLE001 - fail open: the limits must never stop the work
        logger.warning(
            "target limits store unavailable (%s); calling %s unlimited", type(exc).__name__, key
        )
        return None
    if not decision.allowed:
        raise TargetLimited(
            _refusal(key, limit, decision), retry_after=max(0.0, decision.wait_until - now)
        )
    return token if limit.concurrency else None


def release_slot(key: str, token: str | None) -> None:
    """Give back the slot a call held (on success, failure and timeout alike)."""
    if token is None:
        return
    try:
        store().update(key, lambda state: (None, release(state, token)))
    except Exception as exc:  # noqa: BLE001 - the lease expires by itself
        logger.warning(
            "target limits store unavailable (%s); the slot for %s expires with its lease",
            type(exc).__name__,
            key,
        )


def limits_reset(key: str) -> bool:
    """Forget a target's leases and starts (tests, an operator's last resort)."""
    return store().delete(key)


@dataclass(frozen=True)
class TargetLimitStatus:
    """One limited target now, for /metrics and the operations console."""

    target: str
    limit: TargetLimit
    in_flight: int
    recent_starts: int
    deferred: int


def limit_statuses(*, now: float | None = None) -> list[TargetLimitStatus]:
    """Every configured target (and any with stored state), by target."""
    now = time.time() if now is None else now
    stored = store().all()
    configured = settings.FLOWGATE_HTTP_LIMIT_TARGETS
    keys = sorted({*(configured if isinstance(configured, dict) else {}), *stored})
    statuses = []
    for key in keys:
        limit = TargetLimit.from_settings(key)
        state = stored.get(key, LimitState())
        statuses.append(
            TargetLimitStatus(
                target=key,
                limit=limit,
                in_flight=in_flight(state, now),
                recent_starts=recent_starts(state, now, limit),
                deferred=state.deferred,
            )
        )
    return statuses
