"""Celery beat scheduler that also records the scheduler's own heartbeat for /healthz."""

from __future__ import annotations

import logging
import time

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
