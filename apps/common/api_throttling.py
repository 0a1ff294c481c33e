"""Write rate limits per API token (per user for browser sessions).

Kept apart from ``apps.common.api`` because REST_FRAMEWORK settings import it while DRF itself
is still loading (``apps.common.api`` re-exports it).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import SimpleRateThrottle

DEFAULT_WRITE_RATE = "120/min"


class WriteRateThrottle(SimpleRateThrottle):
    """Limits POST/PUT/PATCH/DELETE per API token (per user for browser sessions).

    The rate comes from ``settings.FLOWGATE_API_WRITE_RATE`` ("120/min" by default; None turns it
    off). Counters live in the Django cache (Redis in production).
    """

    scope = "write"
    cache_format = "throttle:write:%(scope)s:%(ident)s"

    def get_rate(self) -> str | None:
        return getattr(settings, "FLOWGATE_API_WRITE_RATE", DEFAULT_WRITE_RATE)

    def parse_rate(self, rate: str | None) -> tuple[int | None, int | None]:
        try:
            return super().parse_rate(rate)
        except (KeyError, ValueError, IndexError) as exc:
            raise ImproperlyConfigured(
                f"FLOWGATE_API_WRITE_RATE must look like '120/min' (per s, min, h or day), "
                f"not {rate!r}."
            ) from exc

    def allow_request(self, request: Any, view: Any) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return super().allow_request(request, view)

    def get_cache_key(self, request: Any, view: Any) -> str:
        token_id = getattr(getattr(request, "auth", None), "pk", None)
        if token_id is not None:
            ident = f"token:{token_id}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
