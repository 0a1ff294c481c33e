"""A typed request for the views behind a login (as healthchecks' ``AuthenticatedHttpRequest``).

``login_required`` and ``role_required`` let only signed-in users through, but ``HttpRequest.user``
is typed ``User | AnonymousUser``; annotating such a view's request with this class tells mypy
what the decorator guarantees. Typing only: Django still builds a plain ``HttpRequest``.
"""

from __future__ import annotations

from django.http import HttpRequest

from apps.accounts.models import User


class AuthenticatedHttpRequest(HttpRequest):
    user: User
