"""Periodic report work (portal/settings.py CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task

from apps.reports.business_facts import business_durations_fill
from apps.reports.facts import job_facts_sweep, task_facts_catch_up
from apps.reports.snapshots import snapshots_refresh
from apps.reports.summaries import fact_buckets_summarise


@shared_task(name="reports.refresh_snapshots")
def refresh_snapshots() -> int:
    """Recompute the report pages' default views (beat: every 5 minutes). Safe to run twice."""
    task_facts_catch_up()
    fact_buckets_summarise()
    return snapshots_refresh()


@shared_task(name="reports.job_facts_sweep")
def sweep_job_facts() -> int:
    """The facts of the jobs finished in the last minutes (beat: every 10 s). Safe to run twice."""
    return job_facts_sweep()


@shared_task(name="reports.fact_buckets")
def summarise_fact_buckets() -> int:
    """Count the new task facts into the per-day buckets (beat: every minute; decision 019).
    Safe to run twice or concurrently."""
    return fact_buckets_summarise()


@shared_task(name="reports.business_durations_fill")
def fill_business_durations() -> int:
    """The business durations of every fact of a business-time SLA that has none (queued when an
    SLA switches to business time; decision 041). Safe to run twice: it fills NULLs only."""
    return business_durations_fill()
