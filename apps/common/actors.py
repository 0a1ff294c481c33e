"""Who is acting: a user, an API token (acting for its user), a system component, or nobody.

Cross-cutting: every layer names the actor of a change (the audit trail records it), so the type
lives here, below all apps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ACTOR_KINDS = frozenset({"user", "token", "system", "anonymous"})


@dataclass(frozen=True)
class Actor:
    """Who did it: a user, an API token (acting for its user), a system component, or nobody."""

    kind: str
    id: str
    label: str

    def __post_init__(self) -> None:
        if self.kind not in ACTOR_KINDS:
            raise ValueError(f"Actor kind must be one of {sorted(ACTOR_KINDS)}, not {self.kind!r}")

    @classmethod
    def for_user(cls, user: Any) -> Actor:
        if user is None or not getattr(user, "is_authenticated", False):
            return cls.anonymous()
        return cls(kind="user", id=str(user.pk), label=user.get_username())

    @classmethod
    def for_token(cls, token: Any) -> Actor:
        owner = getattr(token, "user", None)
        owner_name = owner.get_username() if owner is not None else "?"
        return cls(kind="token", id=str(token.id), label=f"{owner_name} (token {token.name})")

    @classmethod
    def system(cls, component: str) -> Actor:
        return cls(kind="system", id=component, label=component)

    @classmethod
    def anonymous(cls) -> Actor:
        return cls(kind="anonymous", id="", label="anonymous")


def actor_for_request(request) -> Actor:
    token = getattr(request, "auth", None)
    if token is not None and hasattr(token, "user_id") and hasattr(token, "name"):
        return Actor.for_token(token)
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return Actor.for_user(user)
    return Actor.anonymous()
