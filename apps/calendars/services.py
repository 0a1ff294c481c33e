"""Writes: create and change business calendars (admins), each change audited."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from django.db import transaction
from django.forms.models import model_to_dict

from apps.audit.actions import AuditAction
from apps.audit.services import record
from apps.calendars.models import BusinessCalendar
from apps.calendars.selectors import supported_countries
from apps.common.actors import Actor
from apps.common.errors import InvalidInput, NotFound
from apps.engine.core.business_time import WEEKDAYS, CalendarError, parse_periods
from apps.engine.core.business_time import BusinessCalendar as Calculator

SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,59}")
FIELDS = (
    "name",
    "time_zone",
    *WEEKDAYS,
    "holiday_country",
    "holiday_subdivision",
    "own_days",
    "is_default",
)


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(
        f"The calendar was not saved: {message}",
        code="invalid_calendar",
        details=[{"field": field, "message": message}],
    )


def calendar_clean(values: dict[str, Any]) -> dict[str, Any]:
    """The values of a calendar, normalised; InvalidInput naming the first bad field."""
    clean = {k: values[k] for k in FIELDS if k in values}
    clean["name"] = str(clean.get("name") or "").strip()
    if not clean["name"] or len(clean["name"]) > 200:
        raise _invalid("name", "Give a name (at most 200 characters).")
    for day in WEEKDAYS:
        try:
            periods = parse_periods(str(clean.get(day) or ""))
        except CalendarError as exc:
            raise _invalid(day, str(exc)) from None
        clean[day] = ", ".join(str(p) for p in periods)
    country = str(clean.get("holiday_country") or "").strip().upper()
    subdivision = str(clean.get("holiday_subdivision") or "").strip().upper()
    known = supported_countries()
    if country and country not in known:
        raise _invalid(
            "holiday_country", f"“{country}” is not a country the holidays library knows."
        )
    if subdivision and (not country or subdivision not in known[country]):
        raise _invalid("holiday_subdivision", f"“{subdivision}” is not a region of “{country}”.")
    clean["holiday_country"], clean["holiday_subdivision"] = country, subdivision
    own = []
    for item in clean.get("own_days") or []:
        try:
            closed = date.fromisoformat(str(item.get("date")))
        except (AttributeError, TypeError, ValueError):
            raise _invalid("own_days", f"“{item}” is not a date like 2026-12-24.") from None
        own.append({"date": closed.isoformat(), "name": str(item.get("name") or "")[:100]})
    if len(own) > 1000:
        raise _invalid("own_days", "At most 1,000 own days.")
    clean["own_days"] = sorted(own, key=lambda d: d["date"])
    clean["is_default"] = bool(clean.get("is_default"))
    clean["time_zone"] = str(clean.get("time_zone") or "").strip()
    try:
        Calculator.from_texts(clean["time_zone"], {d: clean[d] for d in WEEKDAYS})
    except CalendarError as exc:
        field = "time_zone" if "zone" in str(exc) else "mon"
        raise _invalid(field, str(exc)) from None
    return clean


def _snapshot(calendar: BusinessCalendar | None) -> dict | None:
    if calendar is None:
        return None
    return {"slug": calendar.slug, **model_to_dict(calendar, fields=FIELDS)}


@transaction.atomic
def calendar_save(
    *, slug: str, values: dict[str, Any], actor: Actor, user=None, create: bool
) -> BusinessCalendar:
    """Create (``create=True``; the slug must be new) or change the calendar ``slug``.

    Making one calendar the default takes the flag from the previous default. A change applies
    to deadlines computed from now on: tasks already open keep theirs (docs/calendars.md)."""
    if not SLUG.fullmatch(slug or ""):
        raise _invalid("slug", "The short name is 1-60 lower-case letters, digits, - or _.")
    clean = calendar_clean(values)
    found = BusinessCalendar.objects.select_for_update().filter(slug=slug).first()
    if create and found is not None:
        raise _invalid("slug", f"A calendar “{slug}” exists already.")
    if not create and found is None:
        raise NotFound(f"There is no calendar “{slug}”.")
    before = _snapshot(found)
    calendar = found or BusinessCalendar(slug=slug)
    if clean["is_default"]:
        BusinessCalendar.objects.filter(is_default=True).exclude(slug=slug).update(is_default=False)
    for key, value in clean.items():
        setattr(calendar, key, value)
    calendar.updated_by = user
    calendar.save()
    record(
        AuditAction.SETTINGS_CHANGED,
        actor=actor,
        before=before,
        after=_snapshot(calendar),
        data={"setting": "business_calendar", "calendar": slug},
    )
    return calendar
