"""OpenAPI security schemes for ``TokenAuthentication`` (registered on import by
``AccountsConfig.ready``)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    """OpenAPI: the same key works as ``Token <key>`` and as ``Bearer <key>`` (either one)."""

    target_class = "apps.accounts.authentication.TokenAuthentication"
    name = ["tokenAuth", "bearerAuth"]

    def get_security_requirement(self, auto_schema: Any) -> list[dict[str, list[Any]]]:
        return [{"tokenAuth": []}, {"bearerAuth": []}]

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, Any]]:
        return [
            {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": "Send `Authorization: Token fg_xxxxxxxx_…` with a key from your "
                "profile page (or `manage.py create_api_token`).",
            },
            {
                "type": "http",
                "scheme": "bearer",
                "description": "The same API key as a bearer token: `Authorization: Bearer fg_…`.",
            },
        ]
