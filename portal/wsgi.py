import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
from apps.common import tracing  # noqa: E402 - after the settings module is named

tracing.configure()  # before the handler loads MIDDLEWARE: the Django instrumentation adds to it
application = get_wsgi_application()
