"""Due-time arithmetic for timer start events (date, duration, ISO cycle, cron)."""

from __future__ import annotations

from datetime import datetime

from apps.engine.core import timers
from apps.engine.core.expressions import ExpressionError, evaluate


def _literal(expression: str) -> str:
    """Timer start values are literals or constant expressions (no instance variables exist yet)."""
    try:
        value = evaluate(expression, {})
    except ExpressionError:
        value = expression
    return str(value).strip()


def first_due(kind: str, expression: str, now: datetime) -> tuple[datetime | None, int | None]:
    """(first due time, repetitions left after it) for a newly deployed schedule."""
    value = _literal(expression)
    if kind == "cycle" and not timers.is_cron(value):
        cycle = timers.parse_cycle(value, now=now)
        return cycle.first, (None if cycle.repetitions < 0 else cycle.repetitions - 1)
    return timers.first_due(kind, value, now=now), (None if kind == "cycle" else 0)  # type: ignore[arg-type]


def next_due(
    kind: str, expression: str, previous: datetime | None, remaining: int | None, now: datetime
) -> tuple[datetime | None, int | None]:
    """The due time after ``previous`` fired; None when the schedule is exhausted."""
    if kind != "cycle" or remaining == 0:
        return None, 0
    value = _literal(expression)
    if timers.is_cron(value):
        return timers.next_cron(value, after=max(now, previous or now)), None
    cycle = timers.parse_cycle(value, now=now)
    due = (previous or now) + cycle.interval
    while due <= now:  # missed ticks (scheduler was down) fire once, not in a burst
        due += cycle.interval
    return due, (None if remaining is None else remaining - 1)
