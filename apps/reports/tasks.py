"""Periodic report work (portal/settings.py CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task

from apps.reports.facts import task_facts_catch_up
from apps.reports.snapshots import snapshots_refresh


@shared_task(name="reports.refresh_snapshots")
def refresh_snapshots() -> int:
    """Recompute the report pages' default views (beat: every 5 minutes). Safe to run twice."""
    task_facts_catch_up()
    return snapshots_refresh()
