"""Database and storage outages, answered so that a person or a client can act on them.

A full disk or an unreachable database is not a bug in the portal: the answer is 507 (storage
full) or 503 (database unavailable, with ``Retry-After``) and says that nothing was saved — never
a bare 500. The API's exception handler and the pages share this classification; pages get a
page that renders without touching the database (``templates/outage.html``), through
``OutageMiddleware`` (errors raised by views) and the 500 handler (errors raised by middleware,
such as saving a session). Found by the chaos suite (docs/reliability.md).
"""

from __future__ import annotations

import errno
import logging
import sys
from dataclasses import dataclass

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from apps.common.middleware import SyncAndAsyncMiddleware

logger = logging.getLogger(__name__)

# As SQLite, PostgreSQL and the operating system word them.
_STORAGE_FULL = ("database or disk is full", "disk i/o error", "no space left on device")
_DATABASE_DOWN = (
    "connection failed",
    "could not connect",
    "server closed the connection",
    "terminating connection",
    "the database system is",
    "connection refused",
    "connection already closed",
    "the connection is closed",
)
_DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EIO}


@dataclass(frozen=True)
class Outage:
    status: int
    code: str
    title: str
    message: str
    retry_after: int | None = None


STORAGE_FULL = Outage(
    status=507,
    code="storage_full",
    title="The server's storage is full",
    message="The server could not write to its storage (the disk is full or failing), so "
    "nothing was saved. Try again later; an administrator must free space.",
)
DATABASE_UNAVAILABLE = Outage(
    status=503,
    code="database_unavailable",
    title="The database is not reachable",
    message="The database is not reachable right now, so nothing was saved. Try again in a few "
    "seconds.",
    retry_after=5,
)


def outage_of(exc: BaseException | None) -> Outage | None:
    """The outage ``exc`` means, or ``None`` when it is an ordinary error."""
    if isinstance(exc, OSError) and exc.errno in _DISK_ERRNOS:
        return STORAGE_FULL
    if not isinstance(exc, OperationalError | InterfaceError):
        return None
    text = str(exc).lower()
    if any(marker in text for marker in _STORAGE_FULL):
        return STORAGE_FULL
    if isinstance(exc, InterfaceError) or any(marker in text for marker in _DATABASE_DOWN):
        return DATABASE_UNAVAILABLE
    return None


def outage_page(request: HttpRequest, outage: Outage) -> HttpResponse:
    """An HTML page that needs no database (no user, no messages, no session)."""
    html = render_to_string(
        "outage.html",
        {"outage": outage, "request_id": getattr(request, "request_id", "")},
    )
    response = HttpResponse(html, status=outage.status)
    if outage.retry_after:
        response["Retry-After"] = str(outage.retry_after)
    return response


def current_outage() -> Outage | None:
    """The outage behind the exception being handled (for the 500 handler)."""
    return outage_of(sys.exc_info()[1])


class OutageMiddleware(SyncAndAsyncMiddleware):
    """Turns an outage raised by a page view into its 503/507 page (the API has its own handler).
    Django calls ``process_exception`` for an exception raised by the view, in either mode."""

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        outage = outage_of(exception)
        if outage is None:
            return None
        logger.error("%s on %s %s: %s", outage.code, request.method, request.path, exception)
        return outage_page(request, outage)
