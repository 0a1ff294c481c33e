"""A circuit breaker per target origin, shared by every worker process (decision 029).

While a target keeps failing, the steps that call it wait without calling it: after
``FLOWGATE_HTTP_BREAKER_FAILURES`` consecutive failures (5xx, 408/429, timeouts, connection
errors) the circuit **opens** for ``FLOWGATE_HTTP_BREAKER_COOLDOWN_SECONDS``; then one call, the
**probe**, goes through (half-open) and decides: success closes the circuit, failure opens it
again. A call the breaker holds back raises :class:`CircuitOpen`, which the runtime turns into a
wait (no attempt spent, no incident) until the time it names.

The state lives in ``shared_state``'s store: Redis when ``REDIS_URL`` is set (one small JSON
value per target, updated in a WATCH/MULTI transaction), else the database (one ``Circuit`` row
per target, updated under ``select_for_update``): both are seen by every worker process, which
process memory is not. The transitions themselves are pure functions of (state, now) below, so
both stores share them.

The breaker never stops a call because of its own trouble: if the store cannot be reached the
call goes ahead (logged), the protection is lost for that call, not the work.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import cast

from django.conf import settings

from apps.audit.actions import AuditAction
from apps.audit.services import record as audit_record
from apps.common.actors import Actor
from apps.connectors.base import CircuitOpen
from apps.connectors.models import Circuit

from . import shared_state
from .shared_state import STORE_ERRORS as STORE_ERRORS  # reports.metrics reads it here
from .shared_state import DatabaseStore, RedisStore, StateKind

logger = logging.getLogger(__name__)

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
REDIS_PREFIX = "flowgate:circuit:"
REDIS_TTL_SECONDS = 7 * 24 * 3600
BREAKER_ACTOR = Actor.system("circuit-breaker")


@dataclass(frozen=True)
class BreakerConfig:
    failures: int
    cooldown: float
    probe: float

    @classmethod
    def from_settings(cls, key: str = "") -> BreakerConfig:
        """The thresholds for target ``key``: FLOWGATE_HTTP_BREAKER_TARGETS[key] where set,
        else the global settings."""
        targets = settings.FLOWGATE_HTTP_BREAKER_TARGETS
        own = targets.get(key, {}) if isinstance(targets, dict) else {}
        return cls(
            failures=max(1, int(own.get("failures", settings.FLOWGATE_HTTP_BREAKER_FAILURES))),
            cooldown=float(own.get("cooldown", settings.FLOWGATE_HTTP_BREAKER_COOLDOWN_SECONDS)),
            probe=float(own.get("probe", settings.FLOWGATE_HTTP_BREAKER_PROBE_SECONDS)),
        )


@dataclass(frozen=True)
class CircuitState:
    state: str = CLOSED
    failures: int = 0
    open_until: float = 0.0  # epoch seconds
    probe_until: float = 0.0
    last_error: str = ""
    deferred: int = 0  # calls held back since the state was created (for /metrics, decision 039)


@dataclass(frozen=True)
class Admission:
    allowed: bool
    probe: bool = False
    wait_until: float = 0.0


# --- the transitions (pure) --------------------------------------------------------------------


def admit(
    state: CircuitState, now: float, config: BreakerConfig
) -> tuple[Admission, CircuitState | None]:
    """May a call go now? Returns the decision and the new state (None: unchanged)."""
    if state.state == CLOSED:
        return Admission(allowed=True), None
    held = replace(state, deferred=state.deferred + 1)
    if state.state == OPEN and now < state.open_until:
        return Admission(allowed=False, wait_until=state.open_until), held
    if state.state == HALF_OPEN and now < state.probe_until:
        # A probe is in flight: come back after a cool-down (or when its time is up).
        return Admission(
            allowed=False, wait_until=min(state.probe_until, now + config.cooldown)
        ), held
    # Cool-down over (or the last probe never reported back): this call is the probe.
    return Admission(allowed=True, probe=True), replace(
        state, state=HALF_OPEN, probe_until=now + config.probe
    )


def record(
    state: CircuitState, *, ok: bool, now: float, config: BreakerConfig, error: str = ""
) -> CircuitState | None:
    """The state after one call's outcome (None: unchanged)."""
    if ok:  # closed, no failures; the count of held-back calls goes on
        closed = CircuitState(deferred=state.deferred)
        return None if state == closed else closed
    failures = state.failures + 1
    if state.state == HALF_OPEN or (state.state == CLOSED and failures >= config.failures):
        return CircuitState(
            state=OPEN,
            failures=failures,
            open_until=now + config.cooldown,
            last_error=error,
            deferred=state.deferred,
        )
    return replace(state, failures=failures, last_error=error)


# --- where the state lives (shared_state: Redis or the database) ------------------------------


def _decode(raw: bytes | str | None) -> CircuitState:
    if not raw:
        return CircuitState()
    try:
        return CircuitState(**json.loads(raw))
    except (ValueError, TypeError):
        return CircuitState()


def _from_row(row: Circuit) -> CircuitState:
    return CircuitState(
        state=row.state,
        failures=row.failures,
        open_until=row.open_until.timestamp() if row.open_until else 0.0,
        probe_until=row.probe_until.timestamp() if row.probe_until else 0.0,
        last_error=row.last_error,
        deferred=row.deferred,
    )


def _row_fields(new: CircuitState) -> dict[str, object]:
    return {
        "state": new.state,
        "failures": new.failures,
        "open_until": _dt(new.open_until),
        "probe_until": _dt(new.probe_until),
        "last_error": new.last_error[:500],
        "deferred": new.deferred,
    }


CIRCUITS = StateKind(
    redis_prefix=REDIS_PREFIX,
    empty=CircuitState,
    dumps=lambda new: json.dumps(asdict(new)),
    loads=_decode,
    redis_ttl=lambda new: REDIS_TTL_SECONDS,
    model=Circuit,
    from_row=_from_row,
    row_fields=_row_fields,
)


def store() -> RedisStore[CircuitState] | DatabaseStore[CircuitState]:
    return shared_state.store(CIRCUITS)


def as_datetime(epoch: float) -> datetime | None:
    return _dt(epoch)


def _dt(epoch: float) -> datetime | None:
    return datetime.fromtimestamp(epoch, tz=UTC) if epoch else None


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- what the connector calls ------------------------------------------------------------------


def before_call(key: str, *, now: float | None = None) -> bool:
    """Raise :class:`CircuitOpen` if a call to ``key`` must wait; True if this call is the probe."""
    now = time.time() if now is None else now
    config = BreakerConfig.from_settings(key)
    try:
        admission = cast(Admission, store().update(key, lambda state: admit(state, now, config)))
    except Exception as exc:  # noqa: BLE001 - fail open: the breaker must never stop the work
        logger.warning(
            "circuit breaker store unavailable (%s); calling %s unprotected",
            type(exc).__name__,
            key,
        )
        return False
    if not admission.allowed:
        raise CircuitOpen(
            f"circuit open for host {key} until {_iso(admission.wait_until)}: it failed "
            f"{config.failures} times in a row; this step waits without spending an attempt.",
            retry_after=max(0.0, admission.wait_until - now),
        )
    return admission.probe


def after_call(key: str, *, ok: bool, error: str = "", now: float | None = None) -> None:
    now = time.time() if now is None else now
    config = BreakerConfig.from_settings(key)

    def change(state: CircuitState) -> tuple[object, CircuitState | None]:
        new = record(state, ok=ok, now=now, config=config, error=error[:500])
        return (state, new), new

    try:
        old, new = cast(tuple[CircuitState, CircuitState | None], store().update(key, change))
    except Exception as exc:  # noqa: BLE001 - fail open, as in before_call
        logger.warning(
            "circuit breaker store unavailable (%s); outcome for %s not recorded",
            type(exc).__name__,
            key,
        )
        return
    if new is None or new.state == old.state:
        return
    logger.warning("circuit for %s: %s -> %s", key, old.state, new.state)
    # Audited: opening, and closing again. A failed probe (half-open -> open) is not: it would
    # write an event every cool-down while a target stays down.
    if new.state == OPEN and old.state == CLOSED:
        audit_record(
            AuditAction.CIRCUIT_OPENED,
            actor=BREAKER_ACTOR,
            data={
                "target": key,
                "failures": new.failures,
                "open_until": _iso(new.open_until),
                "last_error": new.last_error,
            },
        )
    elif new.state == CLOSED:
        audit_record(
            AuditAction.CIRCUIT_CLOSED, actor=BREAKER_ACTOR, data={"target": key, "by": "probe"}
        )


def circuits() -> dict[str, CircuitState]:
    """Every known circuit (closed ones too, until they expire), for the API and /metrics."""
    return store().all()


def circuit_reset(key: str) -> bool:
    """Forget a circuit's state (closed, no failures). Not audited: the service
    ``connectors.services.circuit_close`` is the operator's way, and audits."""
    return store().delete(key)
