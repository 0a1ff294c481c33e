"""The Celery application. Tasks live in apps/<app>/tasks.py and take ids only."""

import os

from celery import Celery
from kombu.transport import TRANSPORT_ALIASES

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

# The embedded broker (no Redis): kombu's filesystem transport with atomic writes.
TRANSPORT_ALIASES.setdefault("flowgate-fs", "apps.common.broker:Transport")

app = Celery("flowgate")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
