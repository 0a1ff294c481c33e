"""Logging filters (portal/settings.py LOGGING): context on every record, and quiet routine.

A running portal logs what happened, not that time passed: the beat's periodic tasks (timers
every second, audit linking, sweeps) are DEBUG unless a run did something, and an expected
client error (4xx) is one line without a traceback.
"""

from __future__ import annotations

import ast
import logging
from functools import cache

from django.conf import settings

from apps.common import tracing
from apps.common.context import instance_id_var, request_id_var


class ContextFilter(logging.Filter):
    """Adds request_id and instance_id (when known) to every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.instance_id = getattr(record, "instance_id", None) or instance_id_var.get()
        record.trace_id, record.span_id = tracing.log_ids()
        return True


@cache
def periodic_task_names() -> frozenset[str]:
    """The tasks celery beat sends on a schedule (settings.CELERY_BEAT_SCHEDULE); read when the
    first record arrives, not while the settings configure logging."""
    return frozenset(entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values())


def did_something(return_value: object) -> bool:
    """A periodic task's result, as Celery logs it (its repr): a non-zero count, or a dict with a
    non-zero value, means the run changed something. ``None``, ``0`` and ``{...: 0}`` do not."""
    try:
        value = ast.literal_eval(str(return_value))
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return True  # not a plain literal: say it
    if isinstance(value, dict):
        return any(value.values())
    return bool(value)


def demote(record: logging.LogRecord) -> bool:
    """Turn ``record`` into a DEBUG record; keep it only if its logger shows DEBUG."""
    record.levelno = logging.DEBUG
    record.levelname = "DEBUG"
    return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


class PeriodicTaskFilter(logging.Filter):
    """On celery.worker.strategy ("Task ... received") and celery.app.trace ("Task ... succeeded"):
    a periodic task's records are DEBUG, except "succeeded" when it did something."""

    def filter(self, record: logging.LogRecord) -> bool:
        data = getattr(record, "data", None)
        if not isinstance(data, dict) or data.get("name") not in periodic_task_names():
            return True
        if "return_value" in data and did_something(data["return_value"]):
            return True
        return demote(record)


class ClientErrorFilter(logging.Filter):
    """On django.request: a 4xx answer is expected (a missing page, a refused permission), so it
    is one line without the exception's traceback; 5xx keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and 400 <= status < 500:
            record.exc_info = None
            record.exc_text = None
            record.stack_info = None
        return True
