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


class TaskFact(models.Model):
    """One completed human task, narrowed to what the report percentiles read (decision 017).

    Written in the same transaction as the completion, by the user-task listener the reports
    app registers with the engine (``apps.reports.facts.task_facts_record``), at most once per
    task (one row per ``task``, inserted only when missing); rows written outside the services
    (imports, the demo history, the benchmark) are caught up by ``task_facts_sync`` (beat and
    ``manage.py report_facts_sync``). Durations are seconds computed by the same SQL as the live
    figures (``apps.reports.sql.seconds_between``), so both give the same numbers.

    The covering indexes let PostgreSQL read a period of one activity with an index-only scan,
    already grouped, so ``percentile_cont`` sorts only each activity's own values.
    """

    task = models.OneToOneField(
        "inbox.HumanTask", on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    instance_id = models.BigIntegerField()
    version_id = models.BigIntegerField()
    process_key = models.CharField(max_length=200)
    activity_id = models.CharField(max_length=200)
    created_at = models.DateTimeField()
    completed_at = models.DateTimeField()
    duration = models.FloatField(help_text="created -> completed, seconds")
    waiting = models.FloatField(help_text="created -> claimed (or completed), seconds")
    working = models.FloatField(help_text="claimed -> completed, seconds")
    due_s = models.FloatField(null=True, help_text="created -> the task's due date, seconds")
    completed_by_id = models.BigIntegerField(null=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["process_key", "activity_id", "created_at"],
                include=["duration", "waiting", "working", "due_s"],
                name="taskfact_activity_idx",
            ),
            models.Index(
                fields=["version_id", "activity_id", "created_at"],
                include=["duration", "waiting", "working", "due_s"],
                name="taskfact_version_idx",
            ),
            models.Index(
                fields=["completed_by_id", "completed_at"],
                include=["duration", "process_key"],
                name="taskfact_user_idx",
            ),
            models.Index(
                fields=["process_key", "completed_by_id", "completed_at"],
                include=["duration"],
                name="taskfact_process_user_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.process_key}/{self.activity_id} task {self.task_id}: {self.duration}s"


class JobFact(models.Model):
    """One finished service step (job done), narrowed like ``TaskFact`` (decision 017): written by
    the engine advance listener in the transaction that marks the job done, at most once per job.
    Waiting is created -> started (the queue), working started -> finished (the connector)."""

    job = models.OneToOneField(
        "engine.Job", on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    connector = models.CharField(max_length=100)
    instance_id = models.BigIntegerField()
    version_id = models.BigIntegerField()
    process_key = models.CharField(max_length=200)
    activity_id = models.CharField(max_length=200)
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    duration = models.FloatField(help_text="created -> finished, seconds")
    waiting = models.FloatField(help_text="created -> started (or finished), seconds")
    working = models.FloatField(help_text="started -> finished, seconds")
    started = models.BooleanField(help_text="The job has its own start instant")

    class Meta:
        indexes = [
            models.Index(
                fields=["process_key", "activity_id", "created_at"],
                include=["duration", "waiting", "working"],
                name="jobfact_activity_idx",
            ),
            models.Index(
                fields=["version_id", "activity_id", "created_at"],
                include=["duration", "waiting", "working"],
                name="jobfact_version_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.process_key}/{self.activity_id} job {self.job_id}: {self.duration}s"
