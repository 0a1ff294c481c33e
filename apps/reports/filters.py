"""The report filters shared by the pages, the CSV exports and the API (one parser, one message)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from django.utils.dateparse import parse_date, parse_datetime

from apps.common.errors import InvalidInput
from apps.reports.selectors import DEFAULT_RISK_HOURS, Period

BUCKETS = ("day", "hour")
MAX_RISK_HOURS = 24 * 30


def _parsed(parse: Callable[[str], Any], raw: str) -> Any:
    """Django's date parsers return None for text of another shape but raise ValueError for a
    well-shaped impossible one (2026-02-30): both are "not a date" here."""
    try:
        return parse(raw)
    except ValueError:
        return None


def instant(raw: str, name: str, *, end: bool = False) -> datetime | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    value = _parsed(parse_datetime, raw.replace(" ", "+")) if "T" in raw else None
    if value is None:
        day = _parsed(parse_date, raw) if "T" not in raw else None
        if day is None:
            raise InvalidInput(
                f"{name} must be a date (2026-01-31) or an ISO 8601 date-time with a time zone "
                "(2026-01-31T00:00:00Z).",
                code="invalid_filter",
            )
        value = datetime.combine(day + timedelta(days=1) if end else day, time.min)
        return value.replace(tzinfo=UTC)
    if value.tzinfo is None:
        raise InvalidInput(
            f"{name} needs a time zone, e.g. 2026-01-31T00:00:00Z.", code="invalid_filter"
        )
    return value


@dataclass(frozen=True)
class ReportFilters:
    period: Period
    process_key: str = ""
    risk_hours: float = DEFAULT_RISK_HOURS
    bucket: str = "day"

    @classmethod
    def parse(cls, query: Any) -> ReportFilters:
        """From a QueryDict: ``process_key`` (or ``process``), ``since``, ``until`` (dates are
        whole UTC days, ``until`` inclusive), ``risk_hours``, ``bucket`` (day|hour)."""
        since = instant(query.get("since", ""), "since")
        until = instant(query.get("until", ""), "until", end=True)
        if since and until and since >= until:
            raise InvalidInput("since must be before until.", code="invalid_filter")
        raw_risk = (query.get("risk_hours") or "").strip()
        try:
            risk = float(raw_risk) if raw_risk else float(DEFAULT_RISK_HOURS)
        except ValueError:
            risk = -1.0
        if not 0 <= risk <= MAX_RISK_HOURS:
            raise InvalidInput(
                f"risk_hours must be a number of hours between 0 and {MAX_RISK_HOURS}.",
                code="invalid_filter",
            )
        bucket = (query.get("bucket") or "day").strip()
        if bucket not in BUCKETS:
            raise InvalidInput("bucket must be day or hour.", code="invalid_filter")
        key = (query.get("process_key") or query.get("process") or "").strip()[:200]
        return cls(
            period=Period.around(since=since, until=until),
            process_key=key,
            risk_hours=risk,
            bucket=bucket,
        )
