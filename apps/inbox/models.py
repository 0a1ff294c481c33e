"""HumanTask: the projection of a waiting user task, what inboxes query."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from apps.common.transitions import Transitions


class TaskStatus(models.TextChoices):
    OPEN = "open", "Open"
    # "More information needed": sent back to the requester; the SLA clock is paused.
    WAITING = "waiting", "Waiting on the requester"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


TASK_TRANSITIONS = Transitions(
    "Task",
    {
        TaskStatus.OPEN: {TaskStatus.COMPLETED, TaskStatus.CANCELLED, TaskStatus.WAITING},
        # the requester answers (back to open), or the instance ends meanwhile (cancelled)
        TaskStatus.WAITING: {TaskStatus.OPEN, TaskStatus.CANCELLED},
        TaskStatus.COMPLETED: set(),
        TaskStatus.CANCELLED: set(),
    },
)

# The statuses of a task the engine still waits on (open in an inbox, or sent back to the requester).
LIVE_TASK_STATUSES = (TaskStatus.OPEN, TaskStatus.WAITING)


class Delegation(models.TextChoices):
    PENDING = "pending", "Delegated, waiting for the delegate"
    RESOLVED = "resolved", "Resolved by the delegate, back with the owner"


class HumanTask(models.Model):
    instance = models.ForeignKey(
        "engine.ProcessInstance", on_delete=models.CASCADE, related_name="human_tasks"
    )
    task_id = models.CharField(max_length=64, help_text="Engine activity-instance id")
    activity_id = models.CharField(max_length=200)
    name = models.CharField(max_length=200)
    process_key = models.CharField(max_length=200, db_index=True)
    documentation = models.TextField(blank=True)
    candidate_groups = models.JSONField(default=list, blank=True)
    candidate_users = models.JSONField(default=list, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tasks",
    )
    status = models.CharField(
        max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN, db_index=True
    )
    priority = models.IntegerField(default=50)
    due_at = models.DateTimeField(null=True, blank=True)
    form = models.JSONField(null=True, blank=True)
    is_approval = models.BooleanField(default=False)
    outcome_variable = models.CharField(
        max_length=100, default="outcome", help_text="Approvals: variable set to approved/rejected"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who started the instance: may not approve it (four-eyes)",
    )
    data = models.JSONField(default=dict, blank=True, help_text="Submitted data once completed")
    outcome = models.CharField(max_length=20, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    four_eyes_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="One more user the model names who may not approve (four-eyes)",
    )
    # Delegation (Camunda semantics): the owner hands the task to a delegate; when the delegate
    # resolves it, it returns to the owner, who completes it.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who delegated the task (it returns to them once the delegate resolves it)",
    )
    delegation = models.CharField(max_length=10, choices=Delegation.choices, blank=True)
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The absent user this task was routed away from (out of office)",
    )
    comment_required_on_reject = models.BooleanField(default=False)
    multi_instance_id = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text="Engine id of the multi-instance approval this task is one instance of",
    )
    allow_same_approver = models.BooleanField(
        default=False,
        help_text="flowgate:allowSameApprover: whoever approved another step may decide this one",
    )
    approvals_needed = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="N of an N-of-M approval (multi-instance)"
    )
    escalation = models.CharField(max_length=120, blank=True)
    sla_warning_at = models.DateTimeField(null=True, blank=True)
    sla_breach_at = models.DateTimeField(null=True, blank=True, db_index=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    at_risk_notified_at = models.DateTimeField(
        null=True, blank=True, help_text="When the SLA warning was audited and notified (once)"
    )
    # "More information needed" (docs/inbox.md): the SLA clock stops while the task waits on
    # the requester; paused_seconds adds up every pause (wall-clock), which the reports take out.
    paused_at = models.DateTimeField(
        null=True, blank=True, help_text="Since when the task waits on the requester"
    )
    paused_seconds = models.FloatField(
        default=0, help_text="Wall-clock seconds spent waiting on the requester, all pauses"
    )
    info_question = models.TextField(
        blank=True, max_length=4000, help_text="The open question to the requester"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-priority", "created_at"]
        permissions = [("work_humantask", "Can claim, complete and delegate")]
        constraints = [
            models.UniqueConstraint(fields=["instance", "task_id"], name="uniq_human_task"),
            # Four-eyes, enforced by the database too: the requester never approves.
            models.CheckConstraint(
                condition=~(
                    models.Q(is_approval=True)
                    & models.Q(completed_by__isnull=False)
                    & models.Q(completed_by=models.F("requested_by"))
                ),
                name="four_eyes_approval",
            ),
            # ...and neither does the person the model names.
            models.CheckConstraint(
                condition=~(
                    models.Q(is_approval=True)
                    & models.Q(completed_by__isnull=False)
                    & models.Q(completed_by=models.F("four_eyes_user"))
                ),
                name="four_eyes_named_user",
            ),
            # One decision per person among the instances of one multi-instance approval
            # ("2 of 3" means two people). The service refuses first, with the reason.
            models.UniqueConstraint(
                fields=["instance", "multi_instance_id", "completed_by"],
                condition=models.Q(is_approval=True)
                & models.Q(completed_by__isnull=False)
                & ~models.Q(multi_instance_id=""),
                name="one_decision_per_multi_instance",
            ),
        ]
        indexes = [
            # "open tasks, newest first" per status: the inbox's main query.
            models.Index(fields=["status", "-created_at", "-id"], name="task_open_newest_idx"),
            models.Index(fields=["assignee", "status"], name="task_assignee_status_idx"),
            # overdue / at risk: open tasks by due date.
            models.Index(fields=["status", "due_at"], name="task_status_due_idx"),
            models.Index(fields=["completed_by", "status"], name="task_completed_by_idx"),
            # the at-risk sweep: open tasks whose SLA warning is still to be announced.
            models.Index(
                fields=["sla_warning_at"],
                condition=models.Q(
                    status="open", at_risk_notified_at__isnull=True, escalated_at__isnull=True
                ),
                name="task_at_risk_pending_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.process_key} #{self.instance_id})"

    def transition_to(self, status: str) -> None:
        """Change status along TASK_TRANSITIONS; an illegal transition raises Conflict."""
        TASK_TRANSITIONS.move(self, status)


class TaskComment(models.Model):
    """A comment on a request (instance), optionally about one of its tasks."""

    instance = models.ForeignKey(
        "engine.ProcessInstance", on_delete=models.CASCADE, related_name="comments"
    )
    task = models.ForeignKey(
        HumanTask, null=True, blank=True, on_delete=models.CASCADE, related_name="comments"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField(max_length=4000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"comment {self.pk} on #{self.instance_id}"


def attachment_path(attachment: TaskAttachment, filename: str) -> str:
    return f"attachments/{attachment.instance_id}/{filename}"


class TaskAttachment(models.Model):
    """A file on a request, stored through Django's storage API (size and type limited)."""

    instance = models.ForeignKey(
        "engine.ProcessInstance", on_delete=models.CASCADE, related_name="attachments"
    )
    task = models.ForeignKey(
        HumanTask, null=True, blank=True, on_delete=models.SET_NULL, related_name="attachments"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    file = models.FileField(upload_to=attachment_path, max_length=300)
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.name


class Substitution(models.Model):
    """Out of office: while ``starts_at <= now < ends_at`` new tasks for ``user`` go to
    ``substitute`` (on the user's behalf)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="substitutions"
    )
    substitute = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="substituting"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(user=models.F("substitute")), name="substitute_not_self"
            ),
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="substitution_period_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.substitute_id} for {self.user_id} {self.starts_at:%Y-%m-%d}..{self.ends_at:%Y-%m-%d}"


class NotificationSettings(models.Model):
    """Per-user notification preferences (a missing row means the defaults: e-mail on)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="inbox_settings"
    )
    email_on_assignment = models.BooleanField(default=True)
    email_on_escalation = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"notification settings of {self.user_id}"


class InboxEvent(models.Model):
    """The live feed: one row per task change, written in the change's transaction.

    Browsers ask for "events since N" (polling in the embedded mode, after every reconnect and
    on a websocket doorbell with Redis): committed rows are the truth, so nothing is missed.
    ``roles``/``users`` say who may hear about it (the task's candidates and assignee).
    """

    id = models.BigAutoField(primary_key=True)
    task_id = models.BigIntegerField()
    instance_id = models.BigIntegerField()
    kind = models.CharField(max_length=20)
    status = models.CharField(max_length=10)
    roles = models.JSONField(default=list)
    users = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"event {self.pk}: task {self.task_id} {self.kind}"


class RequestKeyCounter(models.Model):
    """The last number given per business key prefix ("EXP" -> 123 gave EXP-000123): a request
    started from the catalog gets the next one, under this row's lock, in the start's transaction
    (a start that fails gives its number back)."""

    prefix = models.CharField(max_length=10, unique=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.prefix}: {self.last}"
