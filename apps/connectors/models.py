from __future__ import annotations

from django.conf import settings
from django.db import models

from apps.common.models import TimeStampedModel


class Secret(TimeStampedModel):
    """A credential a connector uses (API key, password). Only the Fernet token is stored; the
    value is never shown back after saving. Write through ``services.secret_set`` only."""

    name = models.SlugField(max_length=100, unique=True)
    ciphertext = models.TextField(editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:  # never the ciphertext, let alone the value
        return f"<Secret {self.name!r}>"


class Circuit(models.Model):
    """The circuit breaker's state for one target origin, when no Redis is configured (embedded
    mode). Written only by ``apps.connectors.http.breaker``; decision 029."""

    key = models.CharField(max_length=300, unique=True, help_text="scheme://host:port")
    state = models.CharField(max_length=10, default="closed")
    failures = models.PositiveIntegerField(default=0)
    open_until = models.DateTimeField(null=True, blank=True)
    probe_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    deferred = models.PositiveBigIntegerField(default=0, help_text="Calls held back (decision 039)")

    def __str__(self) -> str:
        return f"circuit {self.key} ({self.state})"


class TargetLimitState(models.Model):
    """The concurrency leases and recent call starts for one limited target origin, when no Redis
    is configured (embedded mode). Written only by ``apps.connectors.http.limits``; decision 029."""

    key = models.CharField(max_length=300, unique=True, help_text="scheme://host:port")
    state = models.JSONField(default=dict)

    def __str__(self) -> str:
        return f"limits {self.key}"
