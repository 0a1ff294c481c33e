"""Reads: calendars as rows for the pages, and as business-time calculators for SLAs."""

from __future__ import annotations

from collections.abc import Container
from datetime import date
from functools import lru_cache

import holidays
from django.conf import settings

from apps.calendars.models import BusinessCalendar
from apps.engine.core.business_time import WEEKDAYS, CalendarError
from apps.engine.core.business_time import BusinessCalendar as Calculator

# Business time with no calendar anywhere (none named, no portal default): Monday-Friday
# 09:00-17:00 in the portal's time zone, so that "2 business days" never means 48 hours.
FALLBACK_WEEK = {day: "09:00-17:00" for day in WEEKDAYS[:5]}


@lru_cache(maxsize=64)
def public_holidays(country: str, subdivision: str) -> holidays.HolidayBase:
    """The holidays library's calendar for a country/region; it adds each year when first asked."""
    return holidays.country_holidays(country, subdiv=subdivision or None)


def supported_countries() -> dict[str, list[str]]:
    """Country code -> its subdivision codes, as the holidays library knows them."""
    return {code: list(subs) for code, subs in holidays.list_supported_countries().items()}


class ClosedDays(Container):
    """Public holidays of a country/region plus the organisation's own days."""

    def __init__(self, country: str, subdivision: str, own: frozenset[date]):
        self.public = public_holidays(country, subdivision) if country else None
        self.own = own

    def __contains__(self, day: object) -> bool:
        return day in self.own or (self.public is not None and day in self.public)


def own_dates(calendar: BusinessCalendar) -> frozenset[date]:
    return frozenset(date.fromisoformat(d["date"]) for d in calendar.own_days or [])


def calculator_of(calendar: BusinessCalendar) -> Calculator:
    """Raises CalendarError for a calendar saved before a rule tightened (never for a new one)."""
    return _calculator(
        calendar.pk,
        calendar.updated_at.isoformat() if calendar.updated_at else "",
        calendar.time_zone,
        tuple(getattr(calendar, day) for day in WEEKDAYS),
        calendar.holiday_country,
        calendar.holiday_subdivision,
        own_dates(calendar),
    )


@lru_cache(maxsize=128)
def _calculator(pk, updated, zone, week, country, subdivision, own) -> Calculator:
    del pk, updated  # cache key only
    return Calculator.from_texts(
        zone, dict(zip(WEEKDAYS, week, strict=True)), ClosedDays(country, subdivision, own)
    )


def fallback_calculator() -> Calculator:
    return Calculator.from_texts(settings.TIME_ZONE, FALLBACK_WEEK)


def calendar_named(slug: str) -> BusinessCalendar | None:
    return BusinessCalendar.objects.filter(slug=slug).first() if slug else None


def calculator_for(*slugs: str) -> tuple[Calculator, str]:
    """The calculator of the first named calendar that exists (a task's, then its process's),
    else the portal default, else the fallback week; with the slug used ("" for the fallback)."""
    for slug in slugs:
        found = calendar_named(slug)
        if found is not None:
            try:
                return calculator_of(found), found.slug
            except CalendarError:
                continue
    default = BusinessCalendar.objects.filter(is_default=True).first()
    if default is not None:
        try:
            return calculator_of(default), default.slug
        except CalendarError:
            pass
    return fallback_calculator(), ""


def calendars_list():
    return BusinessCalendar.objects.all()
