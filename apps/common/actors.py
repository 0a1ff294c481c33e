"""Who is acting in a request, for the audit trail."""

from __future__ import annotations

from apps.audit.services import Actor


def actor_for_request(request) -> Actor:
    token = getattr(request, "auth", None)
    if token is not None and hasattr(token, "user_id") and hasattr(token, "name"):
        return Actor.for_token(token)
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return Actor.for_user(user)
    return Actor.anonymous()
