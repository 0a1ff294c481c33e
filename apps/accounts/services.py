"""Writes for accounts: demo users, API tokens. (Login brute force: django-axes, see settings.)"""

from __future__ import annotations

import hashlib
import secrets
import string
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.accounts.models import ApiToken, User
from apps.accounts.roles import ALL_ROLES, Role
from apps.audit.actions import AuditAction
from apps.audit.services import record
from apps.common.actors import Actor
from apps.common.errors import AccessDenied, Conflict, InvalidInput


def roles_ensure() -> None:
    for role in ALL_ROLES:
        Group.objects.get_or_create(name=role.value)


DEMO_USERS: tuple[tuple[str, tuple[Role, ...], str], ...] = (
    ("designer", (Role.DESIGNER,), "Dana Designer"),
    ("approver", (Role.APPROVER,), "Alex Approver"),
    ("approver2", (Role.APPROVER,), "Sam Second-Approver"),
    ("manager", (Role.MANAGER, Role.APPROVER), "Morgan Manager"),
    ("auditor", (Role.AUDITOR,), "Avery Auditor"),
    ("admin", (Role.ADMIN,), "Ada Admin"),
)
DEMO_PASSWORD_SUFFIX = "-demo-pass"  # noqa: S105 - embedded mode only


def demo_users_ensure() -> list[tuple[str, str]]:
    """Create (or reset) the demo users. Returns (username, password) pairs. Never in production."""
    if not settings.FLOWGATE_DEMO_ALLOWED:
        raise RuntimeError("Demo users are refused when DJANGO_ENV=production.")
    roles_ensure()
    created = []
    for username, roles, full_name in DEMO_USERS:
        first, _, last = full_name.partition(" ")
        user, _ = User.objects.get_or_create(
            username=username,
            defaults={"first_name": first, "last_name": last, "email": f"{username}@flowgate.test"},
        )
        password = username + DEMO_PASSWORD_SUFFIX
        user.set_password(password)
        user.is_staff = Role.ADMIN in roles
        user.is_superuser = Role.ADMIN in roles
        user.save()
        user.groups.set(Group.objects.filter(name__in=[r.value for r in roles]))
        created.append((username, password))
    return created


# --- API tokens -----------------------------------------------------------------------------------
# Keys are ``fg_<prefix>_<secret>``: an 8-character lookup prefix and a 40-character secret, both
# alphanumeric. Only the SHA-256 of the whole key is stored, so a database leak reveals no key.

API_TOKEN_NAME_MAX = 100


def api_token_hash(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def _random_alnum(length: int) -> str:
    return "".join(secrets.choice(_KEY_ALPHABET) for _ in range(length))


_KEY_ALPHABET = string.ascii_letters + string.digits


def api_token_create(
    *, user: User, name: str, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """Create a token for ``user``. Returns the row and the raw key, which is never stored."""
    name = (name or "").strip()
    if not name:
        raise InvalidInput(
            "Give the token a name, for example the script or system that will use it.",
            code="invalid",
            details=[{"field": "name", "message": "This field may not be blank."}],
        )
    if len(name) > API_TOKEN_NAME_MAX:
        raise InvalidInput(
            f"The token name is too long: at most {API_TOKEN_NAME_MAX} characters.",
            details=[{"field": "name", "message": "Ensure this field has at most 100 characters."}],
        )
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidInput(
            "The expiry must be in the future; leave it empty for a token that does not expire.",
            details=[{"field": "expires_at", "message": "Must be in the future."}],
        )
    prefix = _random_alnum(8)
    raw_key = f"fg_{prefix}_{_random_alnum(40)}"
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name,
            prefix=prefix,
            key_hash=api_token_hash(raw_key),
            expires_at=expires_at,
        )
        record(
            AuditAction.TOKEN_CREATED,
            actor=Actor.for_user(user),
            after=_token_audit_view(token),
        )
    return token, raw_key


def api_token_revoke(
    *, token: ApiToken, actor: User, via_token: ApiToken | None = None
) -> ApiToken:
    """Revoke ``token`` at once. Its owner (or an admin) may revoke it; a second revoke is a 409.

    ``via_token`` names the token the request came in with, so the audit shows it as the actor.
    """
    if token.user_id != actor.pk and not actor.has_role(Role.ADMIN):
        raise AccessDenied("You can only revoke your own API tokens.")
    with transaction.atomic():
        locked = ApiToken.objects.select_for_update().get(pk=token.pk)
        if locked.revoked_at is not None:
            raise Conflict(
                f"The token {locked.name!r} was already revoked at {locked.revoked_at:%Y-%m-%d %H:%M} UTC.",
                code="already_revoked",
            )
        before = _token_audit_view(locked)
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])
        record(
            AuditAction.TOKEN_REVOKED,
            actor=Actor.for_token(via_token) if via_token is not None else Actor.for_user(actor),
            before=before,
            after=_token_audit_view(locked),
            on_behalf_of=locked.user.get_username() if locked.user_id != actor.pk else "",
        )
    return locked


def api_token_touch(*, token: ApiToken, at: datetime | None = None) -> bool:
    """Note that ``token`` was used. Writes at most once a minute per token (bookkeeping, no audit).

    Returns True when the row was written.
    """
    now = at or timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < API_TOKEN_TOUCH_INTERVAL:
        return False
    written = (
        ApiToken.objects.filter(pk=token.pk)
        .filter(Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - API_TOKEN_TOUCH_INTERVAL))
        .update(last_used_at=now)
    )
    if written:
        token.last_used_at = now
    return bool(written)


API_TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)


def _token_audit_view(token: ApiToken) -> dict:
    return {
        "token_id": token.pk,
        "user": token.user.get_username(),
        "name": token.name,
        "prefix": token.prefix,
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None,
    }
