"""Periodic anchoring of the audit chain head (see portal/settings.py CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task

from apps.audit.services import anchor_write


@shared_task(name="audit.anchor")
def anchor() -> dict:
    """Safe to run twice: a second run appends the same or a later head."""
    return anchor_write().as_dict()
