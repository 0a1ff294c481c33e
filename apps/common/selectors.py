"""Reads for the health endpoint."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from apps.common.models import Heartbeat

HEARTBEAT_STALE_AFTER = timedelta(seconds=30)


def _check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True, "vendor": connection.vendor}
    except Exception as exc:  # health must report, never raise
        return {"ok": False, "error": str(exc)[:200]}


def _check_broker() -> dict:
    from portal.celery import app

    transport = settings.CELERY_BROKER_URL.split(":", 1)[0]
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return {"ok": True, "transport": transport}
    except Exception as exc:
        return {"ok": False, "transport": transport, "error": str(exc)[:200]}


def _check_heartbeat(component: str) -> dict:
    beat = Heartbeat.objects.filter(component=component).first()
    if beat is None:
        return {"ok": False, "error": "no heartbeat yet"}
    age = (timezone.now() - beat.last_seen).total_seconds()
    return {"ok": age < HEARTBEAT_STALE_AFTER.total_seconds(), "age_seconds": round(age, 1)}


def health_report() -> dict:
    components = {
        "database": _check_database(),
        "broker": _check_broker(),
        "worker": _check_heartbeat("worker"),
        "scheduler": _check_heartbeat("scheduler"),
    }
    return {"ok": all(c["ok"] for c in components.values()), "components": components}
