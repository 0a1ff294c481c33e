"""Periodic retention work (portal/settings.py CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task

from apps.retention.services import retention_purge


@shared_task(name="retention.purge")
def purge() -> int:
    """Archive and purge finished instances past their period (beat: hourly), in bounded
    batches; what is left waits for the next run. Safe to run twice or concurrently."""
    return retention_purge()["purged"]
