"""Retention: how long finished instances keep their rows, legal holds, and the archive index.

docs/retention.md and decision 028: finished (completed or cancelled) instances older than their
process's period are archived to Django's storage, one JSON-lines file each, then their rows
(instance, tasks, comments, attachments, jobs, timers, incidents, object permissions) are
deleted. The audit trail is never purged: each purge run is itself an audit event that carries
the SHA-256 of every archive it wrote, so a changed archive file is caught against the chain.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class RetentionPolicy(models.Model):
    process_key = models.CharField(max_length=200, unique=True)
    days = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Finished instances older than this many days are archived and purged "
        "(empty: keep this process's instances forever, whatever the portal default)",
    )
    legal_hold = models.BooleanField(
        default=False, help_text="Nothing of this process is purged while the hold is on"
    )
    reason = models.CharField(max_length=500, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["process_key"]
        verbose_name_plural = "retention policies"

    def __str__(self) -> str:
        kept = "forever" if self.days is None else f"{self.days} days"
        return f"{self.process_key}: {kept}{' (legal hold)' if self.legal_hold else ''}"


class InstanceHold(models.Model):
    """A legal hold on one instance: it is not purged, whatever its process's period."""

    instance_id = models.BigIntegerField(unique=True)
    reason = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"hold on instance {self.instance_id}: {self.reason[:60]}"


class ArchivedInstance(models.Model):
    """Where a purged instance's archive is and what it hashed to when written."""

    instance_id = models.BigIntegerField(unique=True)
    process_key = models.CharField(max_length=200, db_index=True)
    name = models.CharField(max_length=300, help_text="Path in Django's default storage")
    sha256 = models.CharField(max_length=64)
    audit_events = models.PositiveIntegerField(help_text="Audit events of the instance archived")
    ended_at = models.DateTimeField(null=True)
    purged_at = models.DateTimeField(db_index=True)
    audit_position = models.BigIntegerField(
        null=True, help_text="The retention.purged audit event that holds the archive's SHA-256"
    )

    def __str__(self) -> str:
        return f"archive of instance {self.instance_id}: {self.name}"


class RetentionDefault(models.Model):
    """The portal default retention period set from the retention page (one row, pk 1).

    ``days`` None (or no row): the environment setting ``FLOWGATE_RETENTION_DAYS`` applies;
    0 keeps everything; N purges finished instances N days after they ended. Changed only
    through ``retention_default_set`` (audited)."""

    days = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Empty: the FLOWGATE_RETENTION_DAYS setting; 0: keep everything",
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(pk=1), name="one_retention_default")
        ]

    def __str__(self) -> str:
        return "environment setting" if self.days is None else f"{self.days} days"
