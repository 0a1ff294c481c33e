"""Thin Celery tasks of the inbox: take ids, call one service. Safe to run twice."""

from __future__ import annotations

from celery import shared_task

from apps.inbox import services


@shared_task(name="inbox.escalate_overdue", ignore_result=True)
def escalate_overdue() -> int:
    """Escalate open tasks past their SLA breach time, each once (beat: every 30 s)."""
    return services.tasks_escalate_due()


@shared_task(name="inbox.warn_at_risk", ignore_result=True)
def warn_at_risk() -> int:
    """Audit and notify open tasks past their SLA warning time, each once (beat: every 30 s)."""
    return services.tasks_warn_at_risk()


@shared_task(name="inbox.prune_events", ignore_result=True)
def prune_events() -> int:
    """Drop live-feed rows older than a day (beat: hourly)."""
    return services.inbox_events_prune()
