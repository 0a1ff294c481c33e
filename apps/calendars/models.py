"""Business calendars: when people work, so that SLAs and due dates count business time.

The arithmetic lives in apps.engine.core.business_time (pure Python); this model only stores
what an admin sets (docs/calendars.md).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

PERIOD_HELP = (
    "Working periods, e.g. 09:00-12:00, 13:00-17:00 (empty: a day off; 22:00-06:00 runs overnight)"
)


class BusinessCalendar(models.Model):
    slug = models.SlugField(
        max_length=60, unique=True, help_text='The name a model uses: flowgate:calendar="<slug>"'
    )
    name = models.CharField(max_length=200)
    time_zone = models.CharField(max_length=64, default="UTC")
    mon = models.CharField(max_length=200, blank=True, default="09:00-17:00", help_text=PERIOD_HELP)
    tue = models.CharField(max_length=200, blank=True, default="09:00-17:00", help_text=PERIOD_HELP)
    wed = models.CharField(max_length=200, blank=True, default="09:00-17:00", help_text=PERIOD_HELP)
    thu = models.CharField(max_length=200, blank=True, default="09:00-17:00", help_text=PERIOD_HELP)
    fri = models.CharField(max_length=200, blank=True, default="09:00-17:00", help_text=PERIOD_HELP)
    sat = models.CharField(max_length=200, blank=True, default="", help_text=PERIOD_HELP)
    sun = models.CharField(max_length=200, blank=True, default="", help_text=PERIOD_HELP)
    holiday_country = models.CharField(
        max_length=3,
        blank=True,
        default="",
        help_text="ISO country code (public holidays), e.g. DE",
    )
    holiday_subdivision = models.CharField(
        max_length=10, blank=True, default="", help_text="Region within the country, e.g. BY"
    )
    # the organisation's own closed days: [{"date": "2026-12-24", "name": "Christmas Eve"}, ...]
    own_days = models.JSONField(default=list, blank=True)
    is_default = models.BooleanField(
        default=False, help_text="The portal's calendar for processes that name none"
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name", "slug"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="one_default_calendar",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"
