"""Report settings: SLA targets per activity and service-level objectives per process.

The figures themselves are not stored: they are aggregated from the engine's and the inbox's own
rows (instances, jobs, human tasks) at query time (see selectors/ and docs/reports.md).
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
    # Business time (decision 041): the thresholds are working seconds under ``calendar`` (none:
    # the portal default calendar, else Monday-Friday 09:00-17:00), judged against each fact's
    # ``business_duration``, which is computed when the fact is written.
    business_time = models.BooleanField(
        default=False, help_text="Thresholds are working time under the calendar, not wall-clock"
    )
    calendar = models.ForeignKey(
        "calendars.BusinessCalendar",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Business time only; empty: the portal default calendar",
    )
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
    # Working seconds of ``duration`` under the calendar of the activity's business-time SLA as
    # it was when the fact was written (decision 041); NULL while the activity has none.
    business_duration = models.FloatField(
        null=True, help_text="created -> completed, working seconds (business-time SLA)"
    )
    completed_by_id = models.BigIntegerField(null=True)
    # The log bucket of each measure (``apps.reports.sql.bucket_of``, decision 019): a monotone
    # function of the value, so (bucket, value) order is value order and the per-day bucket
    # counts of ``TaskFactBucket`` locate the bucket holding any rank.
    duration_b = models.IntegerField(null=True)
    waiting_b = models.IntegerField(null=True)
    working_b = models.IntegerField(null=True)

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
            # The partial days at a period's edges, for the bucket path (decision 019).
            models.Index(
                fields=["created_at"],
                include=[
                    "process_key",
                    "activity_id",
                    "version_id",
                    "duration",
                    "waiting",
                    "working",
                    "due_s",
                    "duration_b",
                    "waiting_b",
                    "working_b",
                ],
                name="taskfact_created_idx",
            ),
            models.Index(
                fields=["completed_at"],
                include=["completed_by_id", "process_key", "duration", "duration_b"],
                name="taskfact_completed_idx",
            ),
            models.Index(
                fields=["completed_by_id", "duration_b", "duration"],
                include=["completed_at", "process_key"],
                name="taskfact_user_walk_idx",
            ),
            # Walks in value order from a bucket (exact percentiles, decision 019).
            *(
                models.Index(
                    fields=["process_key", "activity_id", f"{m}_b", m],
                    include=["created_at", "version_id"],
                    name=f"taskfact_{m}_walk_idx",
                )
                for m in ("duration", "waiting", "working")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.process_key}/{self.activity_id} task {self.task_id}: {self.duration}s"


class FactPendingBase(models.Model):
    """A fact not yet counted into its buckets (decision 019): one row per fact id."""

    fact_id = models.BigIntegerField(primary_key=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        abstract = True


class FactBucketBase(models.Model):
    """Per UTC day of creation, process version and activity: how many facts of one measure fall
    into each log bucket, with their exact sum and maximum (decision 019). One shape for the
    completed tasks' and the finished steps' buckets; each subclass names its constraint."""

    day = models.DateField()
    process_key = models.CharField(max_length=200)
    version_id = models.BigIntegerField()
    activity_id = models.CharField(max_length=200)
    measure = models.PositiveSmallIntegerField()
    bucket = models.IntegerField()
    n = models.BigIntegerField()
    total_us = models.BigIntegerField(help_text="Sum of the values, integer microseconds")
    high = models.FloatField()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.day} {self.process_key}/{self.activity_id} m{self.measure} b{self.bucket}"


class TaskFactPending(FactPendingBase):
    """A completed-task fact not yet counted into ``TaskFactBucket`` (decision 019): inserted
    by the same statement as the fact (PostgreSQL), deleted by the summary run that counts it.
    Keeps the facts themselves insert-only (no flag to update on a million rows)."""

    def __str__(self) -> str:
        return f"pending fact {self.fact_id}"


class TaskFactBucket(FactBucketBase):
    """Per UTC day of creation, process version and activity: how many completed-task facts fall
    into each log bucket of each measure, with their exact sum and maximum (decision 019).

    ``measure`` 0/1/2 are duration/waiting/working; 3 and 4 count the facts that met / breached
    their own due date (bucket 0: the SLA of an activity without ``ActivitySla``). Maintained in
    the background by ``apps.reports.summaries.fact_buckets_summarise`` from ``TaskFactPending``;
    a window's figures add the buckets of its whole days to the facts of its partial days and
    the pending facts, so they are exact at any moment."""

    class Meta(FactBucketBase.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["day", "process_key", "version_id", "activity_id", "measure", "bucket"],
                name="uniq_taskfact_bucket",
            )
        ]


class TaskFactUserBucket(models.Model):
    """Per UTC day of completion, process and user who completed the tasks: how many durations
    fall into each log bucket, with their exact sum and maximum (decision 019; workload per
    user). Maintained with ``TaskFactBucket``, from the same queue."""

    day = models.DateField()
    process_key = models.CharField(max_length=200)
    user_id = models.BigIntegerField()
    bucket = models.IntegerField()
    n = models.BigIntegerField()
    total_us = models.BigIntegerField(help_text="Sum of the durations, integer microseconds")
    high = models.FloatField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "process_key", "user_id", "bucket"],
                name="uniq_taskfact_user_bucket",
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.process_key} user {self.user_id} b{self.bucket}"


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
    # log buckets of the measures, as on TaskFact (decision 019)
    duration_b = models.IntegerField(null=True)
    waiting_b = models.IntegerField(null=True)
    working_b = models.IntegerField(null=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["created_at"],
                include=[
                    "process_key",
                    "activity_id",
                    "version_id",
                    "duration",
                    "waiting",
                    "working",
                    "duration_b",
                    "waiting_b",
                    "working_b",
                ],
                name="jobfact_created_idx",
            ),
            *(
                models.Index(
                    fields=["process_key", "activity_id", f"{m}_b", m],
                    include=["created_at", "version_id"],
                    name=f"jobfact_{m}_walk_idx",
                )
                for m in ("duration", "waiting", "working")
            ),
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


class JobFactPending(FactPendingBase):
    """A finished-step fact not yet counted into ``JobFactBucket`` (as ``TaskFactPending``)."""

    def __str__(self) -> str:
        return f"pending job fact {self.fact_id}"


class JobFactBucket(FactBucketBase):
    """Per UTC day of creation, version and service-step activity: the log-bucket counts of the
    finished steps' duration, waiting and working time (measures 0/1/2; decision 019)."""

    class Meta(FactBucketBase.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["day", "process_key", "version_id", "activity_id", "measure", "bucket"],
                name="uniq_jobfact_bucket",
            )
        ]


class InstanceStorage(models.Model):
    """What one completed instance keeps in the database, in bytes (issue 23, decision 039
    addendum 2): measured once, by the report refresh after it completed, so the cost figures
    and /metrics sum this small table instead of measuring every instance's rows again.

    Bytes are the UTF-8 length of each counted value's stored text (JSON as text): the logical
    size, not the disk size (no row headers, indexes or compression). See
    ``apps/reports/storage.py`` for what is counted."""

    instance_id = models.BigIntegerField(primary_key=True)
    process_key = models.CharField(max_length=200)
    ended_at = models.DateTimeField()
    measured_at = models.DateTimeField()
    state_bytes = models.BigIntegerField(help_text="Serialized engine state and variables")
    audit_bytes = models.BigIntegerField(help_text="Its audit events' before/after/data")
    task_bytes = models.BigIntegerField(
        help_text="Its human tasks (documentation, form, data), comments, attachment metadata"
    )
    job_bytes = models.BigIntegerField(help_text="Its service steps' inputs and last errors")
    bytes = models.BigIntegerField(help_text="The sum of the four")

    class Meta:
        indexes = [
            models.Index(
                fields=["ended_at"], include=["process_key", "bytes"], name="storage_ended_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.process_key} #{self.instance_id}: {self.bytes} bytes"
