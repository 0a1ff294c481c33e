"""Heartbeat: beat sends it every few seconds; the worker that runs it records both sides."""

from __future__ import annotations

import socket
from datetime import datetime

from celery import shared_task

from apps.common import services


@shared_task(name="common.heartbeat", ignore_result=True)
def heartbeat(sent_at: str | None = None) -> None:
    if sent_at:
        services.heartbeat_record(component="scheduler", at=datetime.fromisoformat(sent_at))
    services.heartbeat_record(component="worker", detail={"host": socket.gethostname()})
