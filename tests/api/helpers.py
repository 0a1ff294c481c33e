"""Helpers shared by the API and token tests."""

from __future__ import annotations

from rest_framework.test import APIClient

from apps.accounts.services import api_token_create


def token_for(user, name: str = "test token", **kwargs):
    """(ApiToken, raw key) for ``user``."""
    return api_token_create(user=user, name=name, **kwargs)


def token_client(raw_key: str, *, scheme: str = "Token") -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{scheme} {raw_key}")
    return client


def assert_error(response, status: int, code: str) -> dict:
    """The response is the Flowgate error shape with this status and code; returns the body."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error", "message", "details"}
    assert body["error"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["details"], list)
    return body
