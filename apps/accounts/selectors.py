"""Reads for accounts: API token lookup and listing."""

from __future__ import annotations

import hmac

from django.db.models import QuerySet

from apps.accounts.models import ApiToken, User
from apps.accounts.services import api_token_hash

API_KEY_PREFIX = "fg_"


def api_token_for_key(raw_key: str) -> ApiToken | None:
    """The token whose key is ``raw_key`` (revoked and expired ones included), or None.

    The prefix narrows the search; the hash comparison is constant-time. Always read from the
    database (no cache), so a revocation counts from the next request on.
    """
    if not raw_key.startswith(API_KEY_PREFIX):
        return None
    prefix, sep, secret = raw_key[len(API_KEY_PREFIX) :].partition("_")
    if not sep or len(prefix) != 8 or not secret:
        return None
    wanted = api_token_hash(raw_key)
    found = None
    for candidate in ApiToken.objects.select_related("user").filter(prefix=prefix):
        if hmac.compare_digest(candidate.key_hash, wanted):
            found = candidate
    return found


def api_tokens_of(*, user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")
