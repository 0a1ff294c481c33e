"""HumanTask: the projection of a waiting user task, what inboxes query."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class TaskStatus(models.TextChoices):
    OPEN = "open", "Open"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


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
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.process_key} #{self.instance_id})"
