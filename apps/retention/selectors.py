"""Retention reads: check an archive against the audit chain; the retention page's overview."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from apps.audit.actions import AuditAction
from apps.audit.checkpoint_selectors import archived_events_check
from apps.audit.models import AuditEvent, AuditLink
from apps.processes.models import ProcessDefinition
from apps.retention.archive import archive_audit_events, archive_digest
from apps.retention.models import (
    ArchivedInstance,
    InstanceHold,
    RetentionDefault,
    RetentionPolicy,
)


def archive_check(instance_id: int) -> dict[str, Any]:
    """Is the archive of a purged instance the one its purge run recorded in the audit chain?

    The purge event (action retention.purged) is a chained audit event: its SHA-256 of the
    archive is as tamper-evident as the rest of the trail. The archive file is recomputed and
    compared with it; the index row is compared too (it is not chained, so it alone proves
    nothing). Each audit event in the archive is also recomputed against its chain link, which
    stays when the event row is removed (decision 038): ``events_changed`` lists which ones
    differ."""
    archived = ArchivedInstance.objects.filter(instance_id=instance_id).first()
    if archived is None or archived.audit_position is None:
        return {"ok": False, "reason": "not_archived"}
    event = AuditEvent.objects.filter(
        position=archived.audit_position, action="retention.purged"
    ).first()
    recorded = None
    if event is not None:
        recorded = next(
            (
                a.get("sha256")
                for a in (event.data or {}).get("archives", [])
                if a.get("instance_id") == instance_id
            ),
            None,
        )
    linked = event is not None and AuditLink.objects.filter(event_id=event.pk).exists()
    if recorded is None:
        return {"ok": False, "reason": "no_purge_event"}
    actual = archive_digest(archived.name)
    if actual is None:
        return {"ok": False, "reason": "archive_missing", "name": archived.name}
    problems = archived_events_check(archive_audit_events(archived.name) or [])
    if actual != recorded:
        return {
            "ok": False,
            "reason": "archive_changed",
            "name": archived.name,
            "events_changed": problems,
        }
    if problems:
        return {
            "ok": False,
            "reason": "events_changed",
            "name": archived.name,
            "events_changed": problems,
        }
    if archived.sha256 != recorded:
        return {"ok": False, "reason": "index_changed", "name": archived.name}
    return {"ok": True, "name": archived.name, "sha256": actual, "chained": linked}


def portal_default_days() -> tuple[int, str]:
    """(days, source) of the portal default period: the value set on the retention page
    (source "page"), else the environment setting FLOWGATE_RETENTION_DAYS ("environment");
    0 keeps everything."""
    days = RetentionDefault.objects.filter(pk=1).values_list("days", flat=True).first()
    if days is not None:
        return int(days), "page"
    return int(settings.FLOWGATE_RETENTION_DAYS or 0), "environment"


def retention_overview(*, limit: int = 50) -> dict[str, Any]:
    """What the retention page shows: the policies, the instance holds, the portal default and
    the latest archives and purge runs (each purge run is its audited ``retention.purged``)."""
    return {
        "default_days": portal_default_days()[0],
        "default_source": portal_default_days()[1],
        "environment_days": int(settings.FLOWGATE_RETENTION_DAYS or 0),
        "policies": list(RetentionPolicy.objects.order_by("process_key")),
        "holds": list(InstanceHold.objects.select_related("created_by").order_by("-created_at")),
        "archives": list(ArchivedInstance.objects.order_by("-purged_at", "-instance_id")[:limit]),
        "runs": [
            {
                "time": event.time,
                "actor": event.actor_label,
                "instances": (event.data or {}).get("instances", 0),
                "position": event.pk,
            }
            for event in AuditEvent.objects.filter(action=AuditAction.RETENTION_PURGED).order_by(
                "-pk"
            )[:limit]
        ],
        "process_keys": list(
            ProcessDefinition.objects.order_by("key").values_list("key", flat=True)
        ),
    }
