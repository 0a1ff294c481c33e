from __future__ import annotations

from django.contrib.auth.models import AbstractUser

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
