"""The due time of an SLA duration, in plain words (the designer's preview and the API's)."""

from __future__ import annotations

from datetime import datetime

from apps.calendars.selectors import calculator_for
from apps.engine.core import timers
from apps.engine.core.business_time import CalendarError, parse_business_duration


def _words(moment: datetime) -> str:
    return f"{moment:%A} {moment.day} {moment:%B %Y}, {moment:%H:%M} ({moment.tzname()})"


def due_preview(duration: str, *, start: datetime, calendar: str = "") -> dict:
    """``{"due": ISO, "in_words": "...", "calendar": slug, "business": bool}``; CalendarError
    for a duration that is neither business time nor ISO-8601."""
    calc, used = calculator_for(calendar)
    business = parse_business_duration(duration)
    if business is not None:
        due = calc.add(start, business)
    else:
        try:
            due = start + timers.parse_duration(duration, start=start)
        except timers.TimerValueError:
            raise CalendarError(
                f"“{duration}” is neither business time (“2 business days”, “4 business hours”)"
                " nor an ISO-8601 duration (PT4H, P1D)."
            ) from None
    local = due.astimezone(calc.tz)
    return {
        "due": local.isoformat(),
        "in_words": _words(local),
        "calendar": used,
        "business": business is not None,
        "duration": str(business) if business is not None else duration.strip(),
    }
