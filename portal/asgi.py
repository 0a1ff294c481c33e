"""ASGI entry point: HTTP through Django (one worker thread per request: apps.common.asgi),
websockets through Channels (portal.routing)."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

from apps.common import tracing  # noqa: E402
from apps.common.asgi import get_asgi_application  # noqa: E402

tracing.configure()  # before the handler loads MIDDLEWARE: the Django instrumentation adds to it

django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from portal.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
