"""Celery beat scheduler that also records the scheduler's own heartbeat for /healthz, and sends
its periodic tasks quietly (DEBUG: the worker logs what a run did; apps/common/logging.py)."""

from __future__ import annotations

import logging
import time
import traceback

from celery.beat import PersistentScheduler

logger = logging.getLogger(__name__)


class HeartbeatScheduler(PersistentScheduler):
    heartbeat_every = 5.0
    _last_beat = 0.0

    def tick(self, *args, **kwargs):
        now = time.monotonic()
        if now - self._last_beat >= self.heartbeat_every:
            self._last_beat = now
            try:
                # Imported at the first tick: Celery loads this scheduler class before Django's
                # app registry is ready, and the service imports models.
                from django.db import close_old_connections

                from apps.common.services import heartbeat_record

                close_old_connections()
                heartbeat_record(component="scheduler")
            except Exception:  # the database may be down; beat must keep ticking
                logger.warning("could not record the scheduler heartbeat", exc_info=True)
        return min(super().tick(*args, **kwargs), self.heartbeat_every)

    def apply_entry(self, entry, producer=None):
        """Celery's, with the routine "Sending due task" at DEBUG instead of INFO (eight lines a
        second otherwise)."""
        logger.debug("Scheduler: Sending due task %s (%s)", entry.name, entry.task)
        try:
            self.apply_async(entry, producer=producer, advance=False)
        except Exception as exc:
            logger.error("Message Error: %s\n%s", exc, traceback.format_stack(), exc_info=True)
