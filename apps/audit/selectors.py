"""Reads of the audit trail: filtering, timelines, chain verification, anchors."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from apps.audit.actions import AuditAction
from apps.audit.chain import (
    STORED_FIELDS,
    canonical_bytes,
)
from apps.audit.models import (
    AuditEvent,
)

# --- filtering ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilter:
    """One search over the trail. Empty fields do not filter."""

    actor: str = ""
    actor_kind: str = ""
    action: str = ""
    process_key: str = ""
    instance_id: int | None = None
    task_id: int | None = None
    job_id: int | None = None
    trace_id: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    q: str = ""

    def as_params(self) -> dict[str, str]:
        """The non-empty fields as query-string parameters (for links and audit records)."""
        params = {}
        for key, value in asdict(self).items():
            if value not in (None, ""):
                params[key] = value.isoformat() if isinstance(value, dt.date) else str(value)
        return params


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())


def events_filter(*, filters: AuditFilter, up_to_position: int | None = None) -> QuerySet:
    """Events matching ``filters`` (unordered; callers order). ``actor`` matches a user name
    exactly (case-insensitive), that user's API tokens, or an actor id such as ``scheduler``."""
    qs = AuditEvent.objects.select_related("link")
    if up_to_position is not None:
        qs = qs.filter(position__lte=up_to_position)
    if filters.actor:
        name = filters.actor.strip()
        qs = qs.filter(
            Q(actor_label__iexact=name)
            | Q(actor_label__istartswith=f"{name} (token ")
            | Q(actor_id=name, actor_kind="system")
        )
    if filters.actor_kind:
        qs = qs.filter(actor_kind=filters.actor_kind)
    if filters.action:
        if filters.action.endswith("."):  # a whole group: "task."
            qs = qs.filter(action__startswith=filters.action)
        else:
            qs = qs.filter(action=filters.action)
    if filters.process_key:
        qs = qs.filter(process_key=filters.process_key)
    if filters.instance_id is not None:
        qs = qs.filter(instance_id=filters.instance_id)
    if filters.task_id is not None:
        qs = qs.filter(task_id=filters.task_id)
    if filters.job_id is not None:
        qs = qs.filter(job_id=filters.job_id)
    if filters.trace_id:
        qs = qs.filter(trace_id=filters.trace_id.strip().lower())
    if filters.date_from is not None:
        qs = qs.filter(time__gte=_day_start(filters.date_from))
    if filters.date_to is not None and filters.date_to < dt.date.max:
        qs = qs.filter(time__lt=_day_start(filters.date_to + dt.timedelta(days=1)))
    if filters.q:
        text = filters.q.strip()
        qs = qs.annotate(
            _data_text=Cast("data", TextField()),
            _before_text=Cast("before", TextField()),
            _after_text=Cast("after", TextField()),
        )
        match = (
            Q(action__icontains=text)
            | Q(actor_label__icontains=text)
            | Q(on_behalf_of__icontains=text)
            | Q(process_key__icontains=text)
            | Q(request_id__icontains=text)
            | Q(client_address__icontains=text)
            | Q(_data_text__icontains=text)
            | Q(_before_text__icontains=text)
            | Q(_after_text__icontains=text)
        )
        if text.isascii() and text.isdigit():
            number = int(text)
            match |= (
                Q(position=number)
                | Q(instance_id=number)
                | Q(task_id=number)
                | Q(job_id=number)
                | Q(version_id=number)
            )
        qs = qs.filter(match)
    return qs


def events_recent_first(*, filters: AuditFilter | None = None) -> QuerySet:
    """The audit page's list: every event (or the filtered ones), newest first."""
    queryset = (
        events_filter(filters=filters) if filters else AuditEvent.objects.select_related("link")
    )
    return queryset.order_by("-position")


def verification_last() -> AuditEvent | None:
    """The most recent "audit verified" event, if any."""
    return (
        AuditEvent.objects.filter(action=AuditAction.AUDIT_VERIFIED).order_by("-position").first()
    )


def event_first_time() -> dt.datetime | None:
    """When the oldest audit event still in the table was written (None: no event)."""
    return AuditEvent.objects.order_by("position").values_list("time", flat=True).first()


def instance_timeline(*, instance_id: int) -> QuerySet:
    return (
        AuditEvent.objects.select_related("link")
        .filter(instance_id=instance_id)
        .order_by("position")
    )


def last_position() -> int:
    """The newest event's position (insertion sequence number), 0 when there is none."""
    return AuditEvent.objects.order_by("-position").values_list("position", flat=True).first() or 0


EXPORT_COLUMNS: tuple[str, ...] = (*STORED_FIELDS, "seq", "prev_hash", "hash")


def event_as_dict(event: AuditEvent) -> dict[str, Any]:
    """The export form of one event (with its chain link), time as ISO-8601 UTC."""
    row: dict[str, Any] = {name: getattr(event, name) for name in STORED_FIELDS}
    row["time"] = event.time.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    link = getattr(event, "link", None)
    row["seq"] = link.seq if link else None
    row["prev_hash"] = link.prev_hash if link else ""
    row["hash"] = link.hash if link else ""
    return row


def event_canonical(event: AuditEvent) -> str:
    """The exact text whose SHA-256 is the hash of the event's chain link."""
    fields: dict[str, Any] = {name: getattr(event, name) for name in STORED_FIELDS}
    fields["seq"] = event.link.seq
    fields["prev_hash"] = event.link.prev_hash
    return canonical_bytes(fields).decode("utf-8")


# --- anchors --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Anchor:
    position: int
    hash: str
    time: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def anchor_path() -> Path:
    return Path(settings.AUDIT_ANCHOR_PATH)


class AnchorFileError(Exception):
    pass


def anchor_latest(*, path: Path | None = None) -> Anchor | None:
    """The last anchor written to the anchor file, or None when there is none yet."""
    path = path or anchor_path()
    try:
        with path.open("rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - 65536))
            tail = handle.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return None
    lines = [line for line in tail.splitlines() if line.strip()]
    if not lines:
        return None
    try:
        raw = json.loads(lines[-1])
        return Anchor(position=int(raw["position"]), hash=str(raw["hash"]), time=str(raw["time"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise AnchorFileError(f"The last line of the anchor file {path} is not an anchor") from exc
