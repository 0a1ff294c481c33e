from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from apps.common.models import Heartbeat


def heartbeat_record(
    *, component: str, at: datetime | None = None, detail: dict | None = None
) -> None:
    Heartbeat.objects.update_or_create(
        component=component, defaults={"last_seen": at or timezone.now(), "detail": detail or {}}
    )
