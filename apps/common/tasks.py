"""Worker heartbeat: beat sends it every few seconds; the worker that runs it records it."""

from __future__ import annotations

import socket

from celery import shared_task

from apps.common import services
from apps.common.api_idempotency import idempotency_records_prune


@shared_task(name="common.heartbeat", ignore_result=True)
def heartbeat() -> None:
    services.heartbeat_record(component="worker", detail={"host": socket.gethostname()})


@shared_task(name="common.prune_idempotency_records", ignore_result=True)
def prune_idempotency_records() -> int:
    """Forget Idempotency-Key answers older than FLOWGATE_IDEMPOTENCY_TTL_HOURS (beat, hourly)."""
    return idempotency_records_prune()
