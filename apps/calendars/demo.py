"""The demo's business calendar (deployed by `manage.py bootstrap_demo`, idempotent), so that a
new user finds a worked example on the calendars page instead of an empty list."""

from __future__ import annotations

from django.conf import settings

from apps.calendars.models import BusinessCalendar
from apps.calendars.services import calendar_save
from apps.common.actors import Actor

DEMO_SLUG = "head-office"


def demo_calendar_ensure() -> str | None:
    """Create the "Head office" calendar once (Monday-Friday 09:00-12:30, 13:30-17:30, UK public
    holidays, two of the organisation's own days); an admin's later edits are kept."""
    if BusinessCalendar.objects.filter(slug=DEMO_SLUG).exists():
        return None
    calendar = calendar_save(
        slug=DEMO_SLUG,
        values={
            "name": "Head office",
            "time_zone": settings.TIME_ZONE,
            **{day: "09:00-12:30, 13:30-17:30" for day in ("mon", "tue", "wed", "thu", "fri")},
            "sat": "",
            "sun": "",
            "holiday_country": "GB",
            "holiday_subdivision": "",
            "own_days": [
                {"date": "2026-12-24", "name": "Christmas Eve (office closed)"},
                {"date": "2026-12-31", "name": "New Year's Eve (office closed)"},
            ],
            "is_default": False,  # the demo processes keep the portal default (docs/calendars.md)
        },
        actor=Actor.system("demo"),
        create=True,
    )
    return calendar.name
