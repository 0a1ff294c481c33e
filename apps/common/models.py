from django.db import models
from django.utils import timezone


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Heartbeat(models.Model):
    """Last sign of life of a background component (worker, scheduler), for /healthz."""

    component = models.CharField(max_length=40, primary_key=True)
    last_seen = models.DateTimeField()
    detail = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"{self.component} @ {self.last_seen:%Y-%m-%d %H:%M:%S}"


class IdempotencyRecord(models.Model):
    """The stored first answer to a request sent with an ``Idempotency-Key`` header.

    Written in the same transaction as the work it records (see ``apps.common.api.idempotent``);
    the unique constraint makes a concurrent duplicate wait for, then replay, the first answer.
    """

    owner = models.CharField(max_length=64)  # "token:<id>" or "user:<id>"
    scope = models.CharField(max_length=100)
    key = models.CharField(max_length=255)
    request_fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(default=0)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        db_table = "common_idempotency_record"
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "scope", "key"], name="common_idempotency_owner_scope_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.owner} {self.scope} {self.key} -> {self.status_code}"
