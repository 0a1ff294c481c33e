"""Periodic audit work: chain stragglers, anchor the head, verify the chain
(portal/settings.py CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task

from apps.audit.scheduled import verification_scheduled_run
from apps.audit.services import anchor_write, chain_link_pending


@shared_task(name="audit.link")
def link() -> int:
    """Chain every committed event that has no link yet (beat: every second)."""
    return chain_link_pending()


@shared_task(name="audit.anchor")
def anchor() -> dict:
    """Safe to run twice: a second run appends the same or a later head."""
    return anchor_write().as_dict()


@shared_task(name="audit.verify")
def verify(full: bool = False) -> dict:
    """Verify the chain and record the result (beat: from the checkpoint hourly, the whole
    chain daily). Safe to run twice."""
    return verification_scheduled_run(full=full).as_dict()
