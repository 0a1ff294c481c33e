"""ISO-8601 timer values: normalisation at parse time and due-time computation.

bpmn-js writes timer values as bare text (``PT1H``), while Spiff evaluates them as expressions.
``normalize_timer_expression`` turns a bare literal into a quoted string expression; anything else
is kept as an expression of the Flowgate language (for example ``"PT" + str(hours) + "H"``).
All times are aware UTC datetimes; a date without a zone is read as UTC.
"""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from .business_time import parse_business_duration

TimerKind = Literal["date", "duration", "cycle"]

_DURATION_RE = re.compile(
    r"^P(?!$)(?:(?P<years>\d+(?:[.,]\d+)?)Y)?(?:(?P<months>\d+(?:[.,]\d+)?)M)?"
    r"(?:(?P<weeks>\d+(?:[.,]\d+)?)W)?(?:(?P<days>\d+(?:[.,]\d+)?)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+(?:[.,]\d+)?)H)?(?:(?P<minutes>\d+(?:[.,]\d+)?)M)?"
    r"(?:(?P<seconds>\d+(?:[.,]\d+)?)S)?)?$",
    re.IGNORECASE,
)
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ][0-9:.]+)?(Z|[+-]\d{2}:?\d{2})?$", re.IGNORECASE)
_CYCLE_RE = re.compile(r"^R\d*/", re.IGNORECASE)
_CRON_RE = re.compile(r"^[0-9*?/,\-LW#A-Za-z]+( [0-9*?/,\-LW#A-Za-z]+){4,6}$")
MAX_CYCLE_REPETITIONS = 10_000


class TimerValueError(ValueError):
    """A timer value that cannot be understood."""


def is_iso_literal(text: str) -> bool:
    value = text.strip()
    return bool(
        _DURATION_RE.match(value)
        or _DATE_RE.match(value)
        or _CYCLE_RE.match(value)
        or is_cron(value)
    )


def is_cron(text: str) -> bool:
    value = text.strip()
    return bool(_CRON_RE.match(value)) and not value.upper().startswith(("R", "P"))


def normalize_timer_expression(text: str | None) -> str | None:
    """Quote a bare ISO-8601 literal (or cron line) so that it evaluates to itself."""
    if text is None:
        return None
    value = text.strip()
    if value.startswith("${") and value.endswith("}"):
        inner = value[2:-1].strip()
        if is_iso_literal(inner):
            value = inner
        else:
            return value
    if is_iso_literal(value) or parse_business_duration(value) is not None:
        return repr(value)
    return value


def parse_duration(text: str, *, start: datetime) -> timedelta:
    """The length of an ISO-8601 duration counted from ``start`` (months and years by calendar)."""
    match = _DURATION_RE.match(text.strip())
    if not match:
        raise TimerValueError(f"'{text}' is not an ISO-8601 duration such as PT1H or P3D.")
    parts = {k: float(v.replace(",", ".")) for k, v in match.groupdict().items() if v}
    months = parts.pop("months", 0.0) + 12 * parts.pop("years", 0.0)
    days = parts.pop("days", 0.0) + 7 * parts.pop("weeks", 0.0)
    year, month = start.year, start.month
    for _ in range(int(months)):
        days += monthrange(year, month)[1]
        month += 1
        if month > 12:
            year, month = year + 1, 1
    days += (months - int(months)) * monthrange(year, month)[1]
    return timedelta(
        days=days,
        hours=parts.get("hours", 0.0),
        minutes=parts.get("minutes", 0.0),
        seconds=parts.get("seconds", 0.0),
    )


def fixed_duration(text: str) -> timedelta:
    """An ISO-8601 duration of fixed length (weeks, days, hours, minutes, seconds); a calendar
    length (years, months) depends on its start, so it is refused here."""
    match = _DURATION_RE.match(text.strip())
    if not match or match["years"] or match["months"]:
        raise TimerValueError(f"'{text}' is not a fixed ISO-8601 duration such as PT1H or P3D.")
    return parse_duration(text, start=datetime(2000, 1, 1, tzinfo=UTC))


def parse_datetime(text: str) -> datetime:
    value = text.strip()
    if value.upper().endswith("Z"):
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise TimerValueError(
            f"'{text}' is not an ISO-8601 date such as 2030-01-31T09:00:00Z."
        ) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


@dataclass(frozen=True)
class Cycle:
    repetitions: int  # -1 = unbounded
    first: datetime
    interval: timedelta


def parse_cycle(text: str, *, now: datetime) -> Cycle:
    """``R3/PT10M``, ``R/2030-01-01T00:00:00Z/P1D`` or ``R2/PT1H/2030-01-01T00:00:00Z``."""
    value = text.strip()
    if not _CYCLE_RE.match(value):
        raise TimerValueError(f"'{text}' is not an ISO-8601 repeating interval such as R3/PT10M.")
    parts = value.split("/")
    count = parts[0][1:]
    repetitions = int(count) if count else -1
    if repetitions > MAX_CYCLE_REPETITIONS:
        raise TimerValueError(f"A cycle may repeat at most {MAX_CYCLE_REPETITIONS} times.")
    if len(parts) == 2:
        interval = parse_duration(parts[1], start=now)
        first = now + interval
    elif len(parts) == 3 and parts[1].upper().startswith("P"):
        end = parse_datetime(parts[2])
        interval = parse_duration(parts[1], start=end)
        first = end - interval
    elif len(parts) == 3:
        first = parse_datetime(parts[1])
        interval = parse_duration(parts[2], start=first)
    else:
        raise TimerValueError(f"'{text}' has too many parts for a repeating interval.")
    if interval <= timedelta(0):
        raise TimerValueError(f"'{text}' has an empty interval.")
    return Cycle(repetitions, first, interval)


def first_due(kind: TimerKind, value: str, *, now: datetime) -> datetime:
    """When a timer of this kind and (evaluated) value, armed at ``now``, is first due."""
    if kind == "date":
        return parse_datetime(value)
    if kind == "duration":
        return now + parse_duration(value, start=now)
    if is_cron(value):
        return next_cron(value, after=now)
    return parse_cycle(value, now=now).first


def next_cron(expression: str, *, after: datetime) -> datetime:
    from croniter import croniter

    try:
        result = croniter(expression.strip(), after.astimezone(UTC)).get_next(datetime)
    except (ValueError, KeyError) as exc:
        raise TimerValueError(f"'{expression}' is not a valid cron expression.") from exc
    if result.tzinfo is None:
        result = result.replace(tzinfo=UTC)
    return result.astimezone(UTC)


def validate_timer_value(kind: TimerKind, value: str, *, allow_cron: bool) -> str | None:
    """Return a designer-friendly problem message, or None when the literal parses."""
    now = datetime(2000, 1, 1, tzinfo=UTC)
    try:
        if kind == "cycle" and is_cron(value):
            if not allow_cron:
                return "Cron cycles are only supported on timer start events."
            next_cron(value, after=now)
        else:
            first_due(kind, value, now=now)
    except TimerValueError as exc:
        return str(exc)
    except (ValueError, OverflowError) as exc:
        return f"'{value}' is not a valid timer value: {exc}"
    return None
