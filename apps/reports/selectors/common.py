"""What every report figure shares: the period, the defaults, and the SQL filter helpers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

DEFAULT_PERIOD = timedelta(days=30)
MEASURES = ("duration", "waiting", "working")
DEFAULT_RISK_HOURS = 4


@dataclass(frozen=True)
class Period:
    since: datetime
    until: datetime

    @classmethod
    def around(
        cls,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        now: datetime | None = None,
    ) -> Period:
        until = until or now or timezone.now()
        return cls(since=since or until - DEFAULT_PERIOD, until=until)


def _rate(part: int, whole: int) -> float | None:
    return None if not whole else round(part / whole, 4)


def _process_filter(column: str, process_key: str) -> str:
    return f" AND {column} = %(process_key)s" if process_key else ""


def _params(period: Period, **extra: Any) -> dict[str, Any]:
    return {"since": period.since, "until": period.until, **extra}
