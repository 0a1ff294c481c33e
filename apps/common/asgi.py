"""Django's ASGI handler, with a request's middleware chain and view run in one worker thread.

Our views are synchronous (and so are WhiteNoise and most of Django's own middlewares, whose
async mode runs each ``process_request`` / ``process_response`` through ``sync_to_async``).
Django's stock ``ASGIHandler`` builds an async chain: under uvicorn a page request went from the
event loop to a thread for the sync middlewares, back to the loop for the async-capable innermost
one, to a thread again for ``process_view`` and for the view, and back — several thread
hand-overs per request, each a wake-up of another thread (costly on a busy 2-core machine).

``OneThreadASGIHandler`` builds the chain WSGI builds (every middleware in its sync mode, the
view called directly) and runs it with one ``sync_to_async`` call per request, in the
per-request thread of Django's ``ThreadSensitiveContext`` — the thread Django would have run the
sync view in. Everything else is Django's ``ASGIHandler``: reading the body, the
``request_started`` / ``request_finished`` signals, the disconnect watch, streaming the
response. An async view would still work (Django's sync handler runs it with ``async_to_sync``).
docs/decisions/016-inbox-list-cost.md (amendment 1).
"""

from __future__ import annotations

import django
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponseBase


class OneThreadASGIHandler(ASGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        # The sync chain (as under WSGI), whatever ASGIHandler asks for.
        super().load_middleware(is_async=False)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


def get_asgi_application() -> OneThreadASGIHandler:
    """``django.core.asgi.get_asgi_application`` with our handler."""
    django.setup(set_prefix=False)
    return OneThreadASGIHandler()
