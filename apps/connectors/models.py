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
