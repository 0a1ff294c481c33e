"""Writes for accounts: login throttling, demo users."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.cache import cache

from apps.accounts.models import User
from apps.accounts.roles import ALL_ROLES, Role


def _throttle_key(username: str, client_ip: str | None) -> str:
    raw = f"{username.lower()}|{client_ip or '-'}".encode()
    return "login-fail:" + hashlib.sha256(raw).hexdigest()


def login_is_throttled(*, username: str, client_ip: str | None) -> bool:
    return cache.get(_throttle_key(username, client_ip), 0) >= settings.LOGIN_FAILURE_LIMIT


def login_failure_record(*, username: str, client_ip: str | None) -> int:
    key = _throttle_key(username, client_ip)
    cache.add(key, 0, timeout=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=settings.LOGIN_FAILURE_WINDOW_SECONDS)
        return 1


def login_failures_clear(*, username: str, client_ip: str | None) -> None:
    cache.delete(_throttle_key(username, client_ip))


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
