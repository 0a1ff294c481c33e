"""Report settings: SLA targets per activity and service-level objectives per process.

The figures themselves are not stored: they are aggregated from the engine's and the inbox's own
rows (instances, jobs, human tasks) at query time (see selectors.py and docs/reports.md).
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class ActivitySla(models.Model):
    """Warning and breach thresholds of one user task, measured from the task's creation.

    A task completed at exactly the breach threshold meets it (``duration <= breach``); one
    second later it is breached. Without a row, the task's own ``due_at`` is its breach deadline.
    """

    process_key = models.CharField(max_length=200)
    activity_id = models.CharField(max_length=200)
    warning_seconds = models.PositiveIntegerField(null=True, blank=True)
    breach_seconds = models.PositiveIntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["process_key", "activity_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["process_key", "activity_id"], name="uniq_activity_sla"
            ),
            models.CheckConstraint(
                condition=models.Q(warning_seconds__isnull=True)
                | models.Q(warning_seconds__lte=models.F("breach_seconds")),
                name="sla_warning_before_breach",
            ),
        ]

    def __str__(self) -> str:
        return f"SLA {self.process_key}/{self.activity_id}: breach after {self.breach_seconds}s"


class ProcessSlo(models.Model):
    """ "``objective_percent`` % of instances complete within ``target_seconds``", judged over a
    rolling ``window_days`` window."""

    process_key = models.CharField(max_length=200, unique=True)
    objective_percent = models.DecimalField(
        max_digits=6,
        decimal_places=3,
        validators=[MinValueValidator(1), MaxValueValidator(99.999)],
        help_text="e.g. 99 for '99% complete within the target'",
    )
    target_seconds = models.PositiveIntegerField(help_text="End-to-end duration target")
    window_days = models.PositiveSmallIntegerField(
        default=30, validators=[MinValueValidator(1), MaxValueValidator(365)]
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["process_key"]
        verbose_name = "process SLO"

    def __str__(self) -> str:
        return f"{self.process_key}: {self.objective_percent}% within {self.target_seconds}s"


class ReportSnapshot(models.Model):
    """The default view of a report page, computed in the background (reports.refresh_snapshots)
    so that the page answers at once over millions of rows. Figures are exact as of
    ``computed_at``; any other filter is computed live."""

    key = models.CharField(max_length=250, unique=True)
    computed_at = models.DateTimeField()
    seconds = models.FloatField(help_text="How long the computation took")
    data = models.JSONField()

    def __str__(self) -> str:
        return f"{self.key} @ {self.computed_at:%Y-%m-%d %H:%M:%S}"
