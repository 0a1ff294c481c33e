"""API token authentication: ``Authorization: Token <key>`` or ``Authorization: Bearer <key>``.

``request.user`` is the token's owner and ``request.auth`` the ``ApiToken`` row. Every request
reads the token from the database, so revocation and expiry take effect immediately.
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

KEYWORDS = (b"token", b"bearer")


class TokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Any) -> tuple[Any, Any] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() not in KEYWORDS:
            return None  # not ours: let session authentication have a go
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                "Malformed Authorization header: send 'Authorization: Token <key>' "
                "(or 'Bearer <key>') with the key as one word.",
                code="authentication_failed",
            )
        try:
            raw_key = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(
                "The API key contains characters that no Flowgate key has.",
                code="authentication_failed",
            ) from None
        return self.authenticate_key(raw_key)

    def authenticate_key(self, raw_key: str) -> tuple[Any, Any]:
        # DRF imports authentication classes while reading its settings, which can happen before
        # the app registry is ready; the selector and service import models, so they wait.
        from apps.accounts.selectors import api_token_for_key
        from apps.accounts.services import api_token_touch

        token = api_token_for_key(raw_key)
        if token is None:
            raise exceptions.AuthenticationFailed(
                "Unknown API key. Check that it was copied completely, or create a new one on "
                "your profile page.",
                code="authentication_failed",
            )
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed(
                f"This API key ({token.name!r}) has been revoked. Create a new one on your "
                "profile page.",
                code="token_revoked",
            )
        if token.is_expired():
            raise exceptions.AuthenticationFailed(
                f"This API key ({token.name!r}) expired at "
                f"{token.expires_at:%Y-%m-%d %H:%M} UTC. Create a new one on your profile page.",
                code="token_expired",
            )
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(
                "The account this API key belongs to is deactivated.", code="authentication_failed"
            )
        api_token_touch(token=token)
        return token.user, token

    def authenticate_header(self, request: Any) -> str:
        # Makes DRF answer 401 (not 403) when credentials are missing or wrong.
        return 'Token realm="api"'
