"""The calendar page's form: parses the POST; the service checks the rules (periods, zone, country)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms

from apps.calendars.models import PERIOD_HELP, BusinessCalendar
from apps.engine.core.business_time import WEEKDAYS

DAY_LABELS = dict(
    zip(
        WEEKDAYS,
        ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        strict=True,
    )
)


def own_days_text(own_days: list[dict]) -> str:
    return "\n".join(f"{d['date']} {d.get('name', '')}".strip() for d in own_days or [])


class CalendarForm(forms.Form):
    slug = forms.SlugField(
        label="Short name",
        max_length=60,
        help_text='Lower-case letters, digits, - or _; a model names it: flowgate:calendar="…"',
    )
    name = forms.CharField(max_length=200)
    time_zone = forms.CharField(max_length=64, initial="UTC", help_text="e.g. Europe/Berlin")
    holiday_country = forms.CharField(
        max_length=3,
        required=False,
        label="Public holidays of (country)",
        help_text="ISO code, e.g. DE, US, GB; empty: none",
    )
    holiday_subdivision = forms.CharField(
        max_length=10,
        required=False,
        label="Region",
        help_text="e.g. BY (Bavaria), CA (California)",
    )
    own_days = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        label="The organisation's own closed days",
        help_text="One per line: 2026-12-24 Christmas Eve",
        max_length=60_000,
    )
    is_default = forms.BooleanField(required=False, label="The portal's default calendar")

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for day in WEEKDAYS:
            self.fields[day] = forms.CharField(
                max_length=200, required=False, label=DAY_LABELS[day], help_text=PERIOD_HELP
            )
        if editing:
            self.fields["slug"].disabled = True

    @classmethod
    def initial_for(cls, calendar: BusinessCalendar) -> dict[str, Any]:
        values = {
            name: getattr(calendar, name)
            for name in (
                "slug",
                "name",
                "time_zone",
                "holiday_country",
                "holiday_subdivision",
                "is_default",
                *WEEKDAYS,
            )
        }
        values["own_days"] = own_days_text(calendar.own_days)
        return values

    def clean_own_days(self) -> list[dict[str, str]]:
        days = []
        for number, line in enumerate(self.cleaned_data["own_days"].splitlines(), start=1):
            if not line.strip():
                continue
            when, _, name = line.strip().partition(" ")
            try:
                day = date.fromisoformat(when)
            except ValueError:
                raise forms.ValidationError(
                    f"Line {number}: “{when}” is not a date like 2026-12-24."
                ) from None
            days.append({"date": day.isoformat(), "name": name.strip()})
        return days

    def values(self) -> dict[str, Any]:
        return {k: v for k, v in self.cleaned_data.items() if k != "slug"}

    def field_errors(self) -> dict[str, str]:
        return {name: " ".join(str(m) for m in messages) for name, messages in self.errors.items()}
