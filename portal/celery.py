"""The Celery application. Tasks live in apps/<app>/tasks.py and take ids only."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun
from django.conf import settings
from kombu.transport import TRANSPORT_ALIASES

from apps.common import task_limits

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

# The embedded broker (no Redis): kombu's filesystem transport with atomic writes.
TRANSPORT_ALIASES.setdefault("flowgate-fs", "apps.common.broker:Transport")

app = Celery("flowgate")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def recycle_db_connections(task=None, **kwargs) -> None:
    """Django's per-request rule for tasks: drop a connection that is broken or older than
    CONN_MAX_AGE, keep the others. (Celery's own fixup would close it around every task, a new
    PostgreSQL backend per job; CELERY_DB_REUSE_MAX in settings turns that off.)"""
    if task is not None and getattr(task.request, "is_eager", False):
        return  # runs inside the caller's transaction
    from django.db import close_old_connections

    close_old_connections()


@task_prerun.connect
def arm_time_limits(task=None, **kwargs) -> None:
    """Every task runs under FLOWGATE_TASK_SOFT_TIME_LIMIT / FLOWGATE_TASK_TIME_LIMIT
    (apps/common/task_limits.py); an eager task runs in its caller and is not bounded here."""
    if task is not None and getattr(task.request, "is_eager", False):
        return
    task_limits.start(
        soft=settings.FLOWGATE_TASK_SOFT_TIME_LIMIT, hard=settings.FLOWGATE_TASK_TIME_LIMIT
    )


@task_postrun.connect
def disarm_time_limits(task=None, **kwargs) -> None:
    if task is not None and getattr(task.request, "is_eager", False):
        return
    task_limits.stop()
