from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone

from apps.accounts.roles import Role


class User(AbstractUser):
    """A Flowgate user. Roles are exactly the user's Django groups (see accounts.roles.Role)."""

    class Meta:
        db_table = "accounts_user"

    def role_names(self) -> set[str]:
        cached = getattr(self, "_role_cache", None)
        if cached is None:
            cached = set(self.groups.values_list("name", flat=True))
            if self.is_superuser:
                cached.add(Role.ADMIN)
            self._role_cache = cached
        return cached

    def has_role(self, *roles: str) -> bool:
        return bool(self.role_names() & set(roles))


class ApiToken(models.Model):
    """A personal API key. Only a SHA-256 hash of the key is stored; the key is shown once.

    Keys look like ``fg_<prefix>_<secret>``; ``prefix`` finds the row, the hash proves the key.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=8, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "accounts_api_token"
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"{self.name} (fg_{self.prefix}_…)"

    def is_expired(self, at: datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (at or timezone.now())

    def is_active(self, at: datetime | None = None) -> bool:
        return self.revoked_at is None and not self.is_expired(at)

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.is_expired():
            return "expired"
        return "active"
