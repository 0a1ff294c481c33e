"""A typed request for the views behind a login (as healthchecks' ``AuthenticatedHttpRequest``).

``login_required`` and ``role_required`` let only signed-in users through, but ``HttpRequest.user``
is typed ``User | AnonymousUser``; annotating such a view's request with this class tells mypy
what the decorator guarantees. Typing only: Django still builds a plain ``HttpRequest``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest
from rest_framework.request import Request

from apps.accounts.models import User


class AuthenticatedHttpRequest(HttpRequest):
    user: User


if TYPE_CHECKING:

    class AuthenticatedRequest(Request):
        """The DRF request of an API view whose permissions require a signed-in user
        (``IsAuthenticated``, the default permission class): typing only, as above."""

        @property  # type: ignore[misc]  # narrows DRF's read-write user: typing only
        def user(self) -> User: ...  # type: ignore[override]

else:
    AuthenticatedRequest = Request
