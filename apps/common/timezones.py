"""The reader's time zone: pages show times in it and read entered times (out of office) in it.

The browser names its zone (``Intl.DateTimeFormat().resolvedOptions().timeZone``) in the
``fg_tz`` cookie (static/src/app.js); this middleware activates it for the request, so Django's
``|date``, ``localtime`` and ``make_aware`` use it. An absent or unknown zone leaves the
site's ``TIME_ZONE`` (UTC by default); the pages say which zone they use.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable
from functools import lru_cache
from urllib.parse import unquote

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

COOKIE = "fg_tz"
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+){0,2}")


@lru_cache(maxsize=64)
def zone_named(name: str) -> zoneinfo.ZoneInfo | None:
    """The IANA zone ``name`` ("Europe/Berlin"), or None when it is not one."""
    if not name or len(name) > 64 or not _NAME.fullmatch(name):
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return None


class ReaderTimeZoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        zone = zone_named(unquote(request.COOKIES.get(COOKIE, "")))
        if zone is not None:
            timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
