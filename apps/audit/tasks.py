"""Periodic audit work: chain stragglers, anchor the head (portal/settings.py CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task

from apps.audit.services import anchor_write, chain_link_pending


@shared_task(name="audit.link")
def link() -> int:
    """Chain every committed event that has no link yet (beat: every second)."""
    return chain_link_pending()


@shared_task(name="audit.anchor")
def anchor() -> dict:
    """Safe to run twice: a second run appends the same or a later head."""
    return anchor_write().as_dict()
