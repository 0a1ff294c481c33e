"""Durable engine state. PostgreSQL is the truth: every job, timer and waiting message is a row."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.common.transitions import Transitions


class InstanceStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUSPENDED = "suspended", "Suspended"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


class InstanceOutcome(models.TextChoices):
    """How a finished instance ended, where its status alone does not say (decision 036).
    Empty: as its status says (completed, cancelled by a person or the engine)."""

    NONE = "", "-"
    REJECTED_BY_POLICY = "rejected_by_policy", "Rejected by policy"


INSTANCE_TRANSITIONS = Transitions(
    "Instance",
    {
        InstanceStatus.RUNNING: {
            InstanceStatus.SUSPENDED,
            InstanceStatus.COMPLETED,
            InstanceStatus.CANCELLED,
        },
        InstanceStatus.SUSPENDED: {InstanceStatus.RUNNING, InstanceStatus.CANCELLED},
        InstanceStatus.COMPLETED: set(),
        InstanceStatus.CANCELLED: set(),
    },
)


class ProcessInstance(models.Model):
    version = models.ForeignKey(
        "processes.ProcessVersion", on_delete=models.PROTECT, related_name="instances"
    )
    process_key = models.CharField(max_length=200, db_index=True)
    business_key = models.CharField(max_length=200, blank=True, db_index=True)
    is_test_run = models.BooleanField(
        default=False,
        db_index=True,
        help_text="A designer's test run: no inbox tasks, no notifications, and left out of "
        "reports, SLOs, metrics and My requests (decision 024-test-runs-isolated)",
    )
    status = models.CharField(
        max_length=12, choices=InstanceStatus.choices, default=InstanceStatus.RUNNING, db_index=True
    )
    outcome = models.CharField(
        max_length=20,
        choices=InstanceOutcome.choices,
        default=InstanceOutcome.NONE,
        blank=True,
        db_index=True,
        help_text="Set when the status alone does not say how it ended: rejected_by_policy is "
        "cancelled by a policy gate's denial that no error event caught",
    )
    outcome_reason = models.CharField(
        max_length=500, blank=True, help_text="Why: the policy's reason, shown to the requester"
    )
    state = models.TextField(
        help_text="Engine state of this instance only (the spec lives on the version)"
    )
    variables = models.JSONField(default=dict, blank=True)
    steps = models.PositiveIntegerField(default=0, help_text="Number of advances applied")
    waits = models.PositiveSmallIntegerField(
        default=0,
        help_text=(
            "Bit set of what the instance waits on: 1 timers, 2 messages, 4 user tasks, "
            "8 an engine-limit incident"
        ),
    )
    # W3C trace context (decision 029): the caller's traceparent at start, or a new trace.
    trace_id = models.CharField(max_length=32, blank=True, db_index=True)
    traceparent = models.CharField(max_length=55, blank=True)
    called_versions = models.JSONField(
        default=dict,
        blank=True,
        help_text="Called process key -> version id, where a call activity follows the latest "
        "version and a newer one than the deployed spec embeds was current at start",
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        permissions = [("operate_processinstance", "Can cancel, suspend, resume and retry")]

    def __str__(self) -> str:
        return f"{self.process_key} #{self.pk}"

    def transition_to(self, status: str) -> None:
        """Change status along the transition table; an illegal transition raises Conflict."""
        INSTANCE_TRANSITIONS.move(self, status)

    @property
    def status_label(self) -> str:
        """What a person reads: "Rejected by policy" rather than "Cancelled" for a denial."""
        if self.outcome:
            return InstanceOutcome(self.outcome).label
        return self.get_status_display()

    @property
    def is_active(self) -> bool:
        return self.status in (InstanceStatus.RUNNING, InstanceStatus.SUSPENDED)


class JobStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    INCIDENT = "incident", "Incident"
    CANCELLED = "cancelled", "Cancelled"


JOB_TRANSITIONS = Transitions(
    "Job",
    {
        # A chain may run a due job and write its result in one UPDATE (pending -> done).
        JobStatus.PENDING: {JobStatus.RUNNING, JobStatus.DONE, JobStatus.CANCELLED},
        # running -> running: a worker takes over a job whose lease expired.
        JobStatus.RUNNING: {
            JobStatus.RUNNING,
            JobStatus.PENDING,
            JobStatus.DONE,
            JobStatus.INCIDENT,
            JobStatus.CANCELLED,
        },
        JobStatus.INCIDENT: {JobStatus.PENDING, JobStatus.CANCELLED},
        # A result whose task went away meanwhile is withdrawn in the same transaction.
        JobStatus.DONE: {JobStatus.CANCELLED},
        JobStatus.CANCELLED: set(),
    },
)


class Job(models.Model):
    """One activation of a service task. The Celery message only says "look at job N"."""

    instance = models.ForeignKey(ProcessInstance, on_delete=models.CASCADE, related_name="jobs")
    task_id = models.CharField(max_length=64, help_text="Engine activity-instance id")
    activity_id = models.CharField(max_length=200)
    connector = models.CharField(max_length=100)
    inputs = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=3)
    # Calls deferred without spending an attempt: an open circuit, a target's limit, a 429 with
    # Retry-After (decision 039). Summed into /metrics as flowgate_job_deferrals.
    deferrals = models.PositiveIntegerField(default=0)
    # Worker time of the attempts that did not finish the step (failed or deferred: started ->
    # their end). The finishing attempt's time is the job fact's ``working``; together, the
    # step's worker time over all attempts (cost per process, decision 039 addendum).
    failed_attempts_seconds = models.FloatField(default=0.0)
    # Worker time of the attempts whose worker stopped before reporting (lease expired, job
    # reclaimed by the sweeper or another worker): started -> lease expiry, the time the step
    # was held; when the worker actually stopped is unknown (decision 039 addendum 2).
    lost_attempts_seconds = models.FloatField(default=0.0)
    # The waits the target asked for (429 Retry-After) or its open circuit imposed, added up; past
    # FLOWGATE_JOB_MAX_DEFER_SECONDS the step gives up with an incident (decision 039 addendum).
    deferred_seconds = models.FloatField(default=0.0)
    run_after = models.DateTimeField(db_index=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    locked_by = models.CharField(max_length=120, blank=True)
    last_error = models.TextField(blank=True)
    # The parent of this step's span: the instance's trace, carried on the row (decision 029).
    traceparent = models.CharField(max_length=55, blank=True)
    # Not auto_now_add: a step run inside a chain is created and finished at one instant.
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # When the connector of the last attempt began; with finished_at, the step's working time
    # (set for chained steps too, each with its own instants).
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["instance", "task_id"], name="uniq_job_activation"),
        ]
        indexes = [
            models.Index(fields=["status", "run_after"], name="job_due_idx"),
            # The report facts' sweep reads the jobs finished in the last minutes (decision 017).
            models.Index(fields=["finished_at"], name="job_finished_idx"),
        ]

    def __str__(self) -> str:
        return f"job {self.pk} {self.connector} ({self.status})"

    def transition_to(self, status: str) -> None:
        """Change status along JOB_TRANSITIONS; an illegal transition raises Conflict."""
        JOB_TRANSITIONS.move(self, status)

    @property
    def idempotency_key(self) -> str:
        """Stable per activation, never per attempt."""
        return f"fg-{self.instance_id}-{self.task_id}"


class Timer(models.Model):
    instance = models.ForeignKey(ProcessInstance, on_delete=models.CASCADE, related_name="timers")
    task_id = models.CharField(max_length=64)
    activity_id = models.CharField(max_length=200)
    due_at = models.DateTimeField(db_index=True)
    fired_at = models.DateTimeField(null=True, blank=True)
    cancelled = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["instance", "task_id"], name="uniq_timer_activation"),
        ]

    def __str__(self) -> str:
        return f"timer {self.activity_id} @ {self.due_at:%Y-%m-%d %H:%M:%S}"


class StartSchedule(models.Model):
    """A timer start event of a deployed version: starts an instance whenever it is due."""

    version = models.ForeignKey(
        "processes.ProcessVersion", on_delete=models.CASCADE, related_name="start_schedules"
    )
    event_id = models.CharField(max_length=200)
    kind = models.CharField(max_length=10)  # date | cycle | duration
    expression = models.CharField(max_length=200)
    next_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    remaining = models.IntegerField(
        null=True, blank=True, help_text="Repetitions left; null = unbounded"
    )
    active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"{self.version} {self.event_id} next {self.next_due_at}"


class MessageSubscription(models.Model):
    instance = models.ForeignKey(
        ProcessInstance, on_delete=models.CASCADE, related_name="subscriptions"
    )
    task_id = models.CharField(max_length=64)
    activity_id = models.CharField(max_length=200)
    message_name = models.CharField(max_length=200)
    correlation_key = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["instance", "task_id"], name="uniq_subscription"),
        ]
        indexes = [models.Index(fields=["message_name", "correlation_key"], name="sub_lookup_idx")]

    def __str__(self) -> str:
        return f"{self.message_name}[{self.correlation_key}] -> {self.instance_id}"


class IncidentStatus(models.TextChoices):
    OPEN = "open", "Open"
    RETRIED = "retried", "Retried"
    RESOLVED = "resolved", "Resolved"


INCIDENT_TRANSITIONS = Transitions(
    "Incident",
    {
        IncidentStatus.OPEN: {IncidentStatus.RETRIED, IncidentStatus.RESOLVED},
        IncidentStatus.RETRIED: set(),
        IncidentStatus.RESOLVED: set(),
    },
)


class Incident(models.Model):
    instance = models.ForeignKey(
        ProcessInstance, on_delete=models.CASCADE, related_name="incidents"
    )
    job = models.ForeignKey(
        Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="incidents"
    )
    activity_id = models.CharField(max_length=200)
    kind = models.CharField(max_length=40, default="job_failed")
    message = models.TextField()
    stack = models.TextField(blank=True)
    status = models.CharField(
        max_length=10, choices=IncidentStatus.choices, default=IncidentStatus.OPEN
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"incident {self.pk} on {self.activity_id}: {self.message[:60]}"

    def transition_to(self, status: str) -> None:
        """Change status along INCIDENT_TRANSITIONS; an illegal transition raises Conflict."""
        INCIDENT_TRANSITIONS.move(self, status)


class MigrationRunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    FINISHED = "finished", "Finished"


MIGRATION_RUN_TRANSITIONS = Transitions(
    "Migration run",
    {
        MigrationRunStatus.QUEUED: {MigrationRunStatus.RUNNING},
        MigrationRunStatus.RUNNING: {MigrationRunStatus.FINISHED},
        MigrationRunStatus.FINISHED: set(),
    },
)


class MigrationRun(models.Model):
    """A batch move of instances to another version, run by a worker (issue #21): the instances
    it names, its progress, and the per-instance report as it grows."""

    process_key = models.CharField(max_length=200, db_index=True)
    from_version = models.PositiveIntegerField()
    to_version = models.PositiveIntegerField()
    mapping = models.JSONField(default=dict, blank=True)
    instance_ids = models.JSONField(default=list)
    status = models.CharField(
        max_length=10, choices=MigrationRunStatus.choices, default=MigrationRunStatus.QUEUED
    )
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    moved = models.PositiveIntegerField(default=0)
    refused = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=list, blank=True)
    lease_expires_at = models.DateTimeField(
        null=True, blank=True, help_text="A worker runs it until then (renewed after each move)"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"migration {self.pk} {self.process_key} v{self.from_version}->v{self.to_version}"

    def transition_to(self, status: str) -> None:
        """Change status along MIGRATION_RUN_TRANSITIONS; an illegal transition raises Conflict."""
        MIGRATION_RUN_TRANSITIONS.move(self, status)
