"""One instance as JSON lines: what is kept of it once its rows are purged.

Line 1 is the instance; then its tasks, comments, attachments' metadata (the files themselves
are deleted), jobs, incidents and audit events (with their chain position and hash); the last
line is the instance's evidence package (the zip the audit page exports, base64;
``evidence_pack_read`` gives it back). The file's SHA-256 goes into the purge run's audit
event, so the chain vouches for the archive, the evidence package included.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.serializers.json import DjangoJSONEncoder

from apps.audit.chain import format_time
from apps.audit.evidence import batch_events, evidence_packs
from apps.audit.models import AuditEvent
from apps.engine.models import Incident, Job, ProcessInstance
from apps.inbox.models import HumanTask, TaskAttachment, TaskComment

# 2: audit events carry every hashed field (time to the microsecond, client address) and their
# link's prev_hash, so they can be checked against the chain after their rows are removed.
FORMAT = "flowgate-archive/2"


def _line(kind: str, row: dict[str, Any]) -> bytes:
    return (
        json.dumps({"kind": kind, **row}, cls=DjangoJSONEncoder, sort_keys=True, ensure_ascii=False)
        + "\n"
    ).encode()


def _fields(row, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """Every stored column of ``row`` (foreign keys as their ids)."""
    return {
        f.attname: getattr(row, f.attname)
        for f in row._meta.concrete_fields
        if f.attname not in exclude
    }


_EVENT_COLUMNS = (
    "position", "time", "actor_kind", "actor_id", "actor_label", "on_behalf_of", "action",
    "process_key", "version_id", "instance_id", "task_id", "job_id", "before", "after", "data",
    "request_id", "client_address", "trace_id", "span_id", "mac", "link__seq",
    "link__prev_hash", "link__hash",
)  # fmt: skip
_LINK_COLUMNS = ("seq", "prev_hash", "hash")


def _event_row(event: AuditEvent) -> dict[str, Any]:
    """The event's stored fields and its link's (None when unlinked), as the archive keeps
    them: the time to the microsecond, as it was hashed."""
    row = {c: getattr(event, c) for c in _EVENT_COLUMNS if not c.startswith("link__")}
    row["time"] = format_time(event.time)
    link = getattr(event, "link", None)
    for column in _LINK_COLUMNS:
        row[f"link__{column}"] = getattr(link, column) if link is not None else None
    return row


_RELATED = (
    ("task", HumanTask),
    ("comment", TaskComment),
    ("attachment", TaskAttachment),
    ("job", Job),
    ("incident", Incident),
)


def archives_bytes(instances: list[ProcessInstance]) -> dict[int, tuple[bytes, int]]:
    """The archive of each instance and the number of its audit events (one query per kind of
    row for the whole batch, not per instance)."""
    pks = [i.pk for i in instances]
    # the engine state is the engine's working memory, not a record: variables carry the data
    parts: dict[int, list[bytes]] = {
        i.pk: [_line("instance", {"format": FORMAT, **_fields(i, exclude=("state",))})]
        for i in instances
    }
    for kind, model in _RELATED:
        for row in model.objects.filter(instance_id__in=pks).order_by("pk"):
            fields = _fields(row)
            if kind == "attachment":
                fields["file"] = str(fields.get("file") or "")
            parts[row.instance_id].append(_line(kind, fields))
    counts = dict.fromkeys(pks, 0)
    events = batch_events(pks)  # read once: for the lines and for the evidence packages
    for pk in pks:
        for event in events.get(pk, ()):
            parts[pk].append(_line("audit_event", _event_row(event)))
            counts[pk] += 1
    for pk, pack in evidence_packs(pks, events).items():
        parts[pk].append(
            _line(
                "evidence_pack",
                {
                    "filename": evidence_pack_name(pk),
                    "zip_base64": base64.b64encode(pack).decode("ascii"),
                },
            )
        )
    return {pk: (b"".join(lines), counts[pk]) for pk, lines in parts.items()}


def evidence_pack_name(instance_id: int) -> str:
    return f"flowgate-evidence-instance-{instance_id}.zip"


def evidence_pack_read(name: str) -> bytes | None:
    """The evidence package (zip bytes) kept in a stored archive; None when the file is gone,
    unreadable or written before archives carried one."""
    if not default_storage.exists(name):
        return None
    try:
        with default_storage.open(name, "rb") as handle:
            for raw in handle:
                line = json.loads(raw) if raw.strip() else None
                if isinstance(line, dict) and line.get("kind") == "evidence_pack":
                    return base64.b64decode(line["zip_base64"], validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None
    return None


def archive_name(instance: ProcessInstance) -> str:
    return f"retention/{instance.process_key}/{instance.pk}.jsonl"


def archive_write(instance: ProcessInstance, content: bytes, events: int) -> tuple[str, str, int]:
    """Write the archive (replacing one a rolled-back run left); (name, sha256, events)."""
    name = archive_name(instance)
    if default_storage.exists(name):
        default_storage.delete(name)
    saved = default_storage.save(name, ContentFile(content))
    return saved, hashlib.sha256(content).hexdigest(), events


def archive_audit_events(name: str) -> list[dict[str, Any]] | None:
    """The audit event lines of a stored archive; None when the file is gone or unreadable;
    [] for a flowgate-archive/1 file (its events lack fields the chain hashed)."""
    if not default_storage.exists(name):
        return None
    try:
        with default_storage.open(name, "rb") as handle:
            lines = [json.loads(line) for line in handle if line.strip()]
    except ValueError:
        return None
    if not lines or not isinstance(lines[0], dict) or lines[0].get("format") != FORMAT:
        return []
    return [line for line in lines if isinstance(line, dict) and line.get("kind") == "audit_event"]


def archive_digest(name: str) -> str | None:
    """The SHA-256 of a stored archive; None when the file is gone."""
    if not default_storage.exists(name):
        return None
    digest = hashlib.sha256()
    with default_storage.open(name, "rb") as handle:
        for chunk in iter(lambda: handle.read(65536), b""):
            digest.update(chunk)
    return digest.hexdigest()
