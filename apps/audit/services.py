"""Writes to the audit trail. ``record()`` is the only way an audit event comes into being.

``record()`` inserts the event in the caller's transaction and takes no lock; a database trigger
puts it in the linker's queue (``AuditPending``, migration 0004). ``chain_link_pending()``
appends the hash-chain links for everything committed so far, one linker at a time (serialized
on the chain-head row): every second from the periodic task ``audit.link``, and on demand before
verification, exports and anchors. Why the chain is not extended inside the caller's
transaction: docs/decisions/004-audit-chain-linked-after-commit.md.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.audit.actions import AuditAction
from apps.audit.chain import (
    GENESIS_HASH,
    STORED_FIELDS,
    event_hash,
    mac_make,
    mac_problem,
    normalize_json,
)
from apps.audit.evidence import (  # the hooks: re-exported, the processes app connects to them
    evidence_bpmn_files as evidence_bpmn_files,
)
from apps.audit.evidence import (
    evidence_dmn_files as evidence_dmn_files,
)
from apps.audit.evidence import evidence_files
from apps.audit.exporting import zip_bytes
from apps.audit.keys import signing_key, verifying_keys
from apps.audit.models import AuditChainHead, AuditEvent, AuditLink, AuditPending
from apps.audit.selectors import (
    Anchor,
    AuditFilter,
    anchor_path,
    events_filter,
    instance_timeline,
    last_position,
)
from apps.audit.verification import ChainVerification, chain_verify
from apps.common.actors import Actor
from apps.common.context import client_ip_var, request_id_var
from apps.common.db import WriteBatch, insert_rows
from apps.common.errors import InvalidInput, NotFound
from apps.common.tracing import log_ids, trace_id_of

logger = logging.getLogger(__name__)
# An audit.event_refused record lists at most this many refused event positions.
REFUSED_LISTED = 100


def _clip(value: str | None, limit: int) -> str:
    return (value or "")[:limit]


def _insert(events: list[AuditEvent]) -> None:
    if events:
        with transaction.atomic(savepoint=False):
            insert_rows(events)


# The events of a ``batched`` block, written in one INSERT at its end.
_batch: WriteBatch[AuditEvent] = WriteBatch("audit_events_pending", _insert)


@contextmanager
def batched() -> Iterator[None]:
    """Within the block, ``record`` and ``record_many`` queue their events, and the block's end
    writes them all in one INSERT, in the order they were recorded: the same events, times,
    MACs and chain order as one INSERT each (decision 044; an approval records "task created"
    for the next task, then its own event). Use it inside the change's transaction; if the block
    raises, nothing is written. An event recorded inside a savepoint opened within the block is
    written at once, alone (that savepoint may roll back without the rest): it then precedes
    the queued ones in the chain (``apps.common.db.WriteBatch``)."""
    if not settings.FLOWGATE_AUDIT_ENABLED:
        yield
        return
    with _batch.block():
        yield


def record(action: AuditAction, **fields: Any) -> AuditEvent:
    """Add one event to the trail, inside the caller's transaction. ``fields``: the references
    and data of the event (actor, process_key, version_id, instance_id, task_id, job_id, before,
    after, data, on_behalf_of; see ``_event_fields``); ``instance=`` gives the process, version
    and instance references at once. The trail's one write entry for one event; ``record_many``
    writes several built by ``audit_event`` in one INSERT.

    Call it in the same ``transaction.atomic()`` block as the change it records: if that rolls
    back, the event goes with it. Outside a transaction it opens (and commits) its own. It takes
    no lock and costs one INSERT (a trigger queues it for the linker); the event joins the hash
    chain within about a second of the commit (``chain_link_pending``). No savepoint: if the
    insert fails, the whole surrounding transaction must roll back, so a change can never commit
    without its event.
    """
    values = _event_fields(action, **fields)
    if not settings.FLOWGATE_AUDIT_ENABLED:  # benchmarks only; production settings force it on
        return AuditEvent(**values)
    mac = _mac(values)
    if _batch.active:
        event = AuditEvent(**values, mac=mac)
        if _batch.queue([event]):
            return event
    with transaction.atomic(savepoint=False):
        return AuditEvent.objects.create(**values, mac=mac)


def record_many(events: list[AuditEvent]) -> list[AuditEvent]:
    """Add several events built by ``audit_event`` in one INSERT, inside the caller's
    transaction (same rules as ``record``)."""
    if not events or not settings.FLOWGATE_AUDIT_ENABLED:
        return events
    for event in events:
        _seal(event)
    batch = list(events)
    if not _batch.queue(batch):
        _insert(batch)
    return events


def _seal(event: AuditEvent) -> None:
    """Give ``event`` its writer MAC, over its content as it is about to be inserted (callers
    may add to an unsaved event's data after ``audit_event``; the MAC covers the final form)."""
    for name in ("before", "after", "data"):
        setattr(event, name, normalize_json(getattr(event, name)))
    event.mac = _mac({name: getattr(event, name) for name in STORED_FIELDS})


def _mac(fields: dict[str, Any]) -> str:
    key = signing_key()
    return mac_make(fields, key_id=key.id, secret=key.secret, nonce=secrets.token_hex(8))


def audit_event(action: AuditAction, **fields: Any) -> AuditEvent:
    """An unsaved event (same arguments as ``record``), for ``record_many``; timed now."""
    return AuditEvent(**_event_fields(action, **fields))


def _event_fields(
    action: AuditAction,
    *,
    instance: Any = None,
    actor: Actor | None = None,
    process_key: str = "",
    version_id: int | None = None,
    instance_id: int | None = None,
    task_id: int | None = None,
    job_id: int | None = None,
    before: dict | None = None,
    after: dict | None = None,
    data: dict | None = None,
    on_behalf_of: str = "",
) -> dict[str, Any]:
    action = AuditAction(action)
    if instance is not None:  # the process, version and instance references, from the instance
        process_key = instance.process_key
        version_id = instance.version_id
        instance_id = instance.pk
    actor = actor or Actor.system("flowgate")
    fields: dict[str, Any] = dict(
        time=timezone.now(),
        actor_kind=actor.kind,
        actor_id=_clip(actor.id, 64),
        actor_label=_clip(actor.label, 255),
        on_behalf_of=_clip(on_behalf_of, 255),
        action=action.value,
        process_key=_clip(process_key, 255),
        version_id=None if version_id is None else int(version_id),
        instance_id=None if instance_id is None else int(instance_id),
        task_id=None if task_id is None else int(task_id),
        job_id=None if job_id is None else int(job_id),
        before=normalize_json(before),
        after=normalize_json(after),
        data=normalize_json(data or {}),
        request_id=_clip(request_id_var.get(), 64),
        client_address=_clip(client_ip_var.get(), 45),
    )
    fields["trace_id"], fields["span_id"] = _trace_ids(instance)
    return fields


def _trace_ids(instance: Any) -> tuple[str | None, str | None]:
    """The trace context the event is written in: the current span's (a traced request or an
    engine step), else the trace the instance belongs to (no span id: no span wrote it)."""
    trace_id, span_id = log_ids()
    if trace_id:
        return trace_id, span_id
    if instance is not None:
        stored = getattr(instance, "trace_id", "") or trace_id_of(
            getattr(instance, "traceparent", "")
        )
        if stored:
            return stored, None
    return None, None


# --- the chain ------------------------------------------------------------------------------------


def _lock_chain_head(*, wait: bool = True) -> AuditChainHead | None:
    """Lock (creating if needed) the chain head; None if ``wait`` is False and it is taken.

    Must run inside a transaction.
    """
    locked = AuditChainHead.objects.select_for_update(skip_locked=not wait).filter(pk=1).first()
    if locked is not None:
        return locked
    if AuditChainHead.objects.filter(pk=1).exists():
        return None  # someone else holds it (skip_locked)
    # Missing (fresh or flushed database, or reset by migration 0003): continue from the last link.
    last = AuditLink.objects.order_by("-seq").values_list("seq", "hash").first()
    seq, last_hash = last if last else (0, GENESIS_HASH)
    AuditChainHead.objects.get_or_create(pk=1, defaults={"position": seq, "hash": last_hash})
    return AuditChainHead.objects.select_for_update(skip_locked=not wait).filter(pk=1).first()


def chain_link_pending(*, wait: bool = True, batch_size: int = 2000) -> int:
    """Append a chain link for every committed event that has none yet; return how many.

    One linker at a time (it locks the chain head): with ``wait=False`` it returns 0 at once if
    another linker is running. Events are
    linked in insertion order among those visible; an event whose transaction commits late simply
    gets a later link. Safe to run any number of times.

    An event whose writer MAC does not verify (a row inserted into the table by SQL, not by
    ``record()``) is never linked: it leaves the queue, an ``audit.event_refused`` event records
    it, and verification reports it for as long as it stays in the table.
    """
    linked = 0
    while True:
        with transaction.atomic():
            head = _lock_chain_head(wait=wait)
            if head is None:
                return linked
            waiting = list(
                AuditPending.objects.order_by("event_id").values_list("event_id", flat=True)[
                    :batch_size
                ]
            )
            if not waiting:
                return linked
            pending = list(
                AuditEvent.objects.filter(position__in=waiting, link__isnull=True)
                .order_by("position")
                .values(*STORED_FIELDS, "mac")
            )
            AuditPending.objects.filter(event_id__in=waiting).delete()
            keys = verifying_keys()
            seq, prev_hash = head.position, head.hash
            links = []
            refused: list[tuple[int, str]] = []
            for fields in pending:
                problem = mac_problem(fields, fields.pop("mac"), keys)
                if problem:
                    refused.append((fields["position"], problem))
                    continue
                seq += 1
                fields["seq"] = seq
                fields["prev_hash"] = prev_hash
                prev_hash = event_hash(fields)
                links.append(
                    AuditLink(
                        seq=seq,
                        event_id=fields["position"],
                        prev_hash=fields["prev_hash"],
                        hash=prev_hash,
                    )
                )
            AuditLink.objects.bulk_create(links)
            AuditChainHead.objects.filter(pk=1).update(position=seq, hash=prev_hash)
            linked += len(links)
            if refused:
                _refusal_record(refused)
        if len(waiting) < batch_size and not refused:
            return linked


def _refusal_record(refused: list[tuple[int, str]]) -> None:
    """Say, in the trail itself, which rows the linker would not chain (the next pass links it)."""
    positions = [position for position, _problem in refused]
    logger.error(
        "audit linker refused %d event(s) not written by record() (first: %s, %s)",
        len(refused),
        refused[0][0],
        refused[0][1],
    )
    record(
        AuditAction.AUDIT_EVENT_REFUSED,
        data={
            "count": len(refused),
            "events": positions[:REFUSED_LISTED],
            "reasons": {str(p): problem for p, problem in refused[:REFUSED_LISTED]},
        },
    )


# --- anchoring, verification, exports ------------------------------------------------------------


def anchor_write(*, path: Path | None = None) -> Anchor:
    """Append the current chain head (position, hash, time) to the anchor file (JSON lines).

    The file is meant to be shipped somewhere the database's owner cannot rewrite (WORM bucket,
    another host); ``chain_verify`` then proves that no event up to the anchor has been removed.
    """
    target = path or anchor_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    chain_link_pending()
    head = AuditChainHead.objects.filter(pk=1).values_list("position", "hash").first()
    position, head_hash = head if head else (0, GENESIS_HASH)
    anchor = Anchor(position=position, hash=head_hash, time=timezone.now().isoformat())
    line = json.dumps(anchor.as_dict(), sort_keys=True) + "\n"
    with target.open("a", encoding="utf-8") as handle:
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())
    return anchor


def verification_run(
    *,
    actor: Actor,
    anchor_file: Path | None = None,
    from_checkpoint: bool = False,
    max_seconds: float | None = None,
) -> ChainVerification:
    """Chain what is waiting, verify the whole chain, and record who asked and what came out
    (the ``audit.verified`` event is also what /metrics reports as the last verification).
    A run that exceeds ``max_seconds`` raises ``VerificationTimedOut`` and records nothing."""
    chain_link_pending()
    result = chain_verify(
        anchor_file=anchor_file, from_checkpoint=from_checkpoint, max_seconds=max_seconds
    )
    record(
        AuditAction.AUDIT_VERIFIED,
        actor=actor,
        data={
            "intact": result.intact,
            "events": result.events,
            "head_position": result.head_position,
            "head_hash": result.head_hash,
            "broken_position": result.broken_position,
            "reason": result.reason,
            "anchor_note": result.anchor_note,
            "forged": result.forged,
            "archived": result.archived,
            "checkpoints": result.checkpoints,
            "checked_from": result.checked_from,
        },
    )
    return result


EXPORT_FORMATS = ("csv", "json")


def export_begin(*, actor: Actor, filters: AuditFilter, fmt: str, via: str = "page") -> int:
    """Record an export of the filtered trail; return the last position the export covers.

    The export then contains exactly the matching events up to that position (not its own
    event), so the record says precisely what left the system.
    """
    if fmt not in EXPORT_FORMATS:
        raise InvalidInput(
            f"Unknown export format {fmt!r}: use one of {', '.join(EXPORT_FORMATS)}.",
            details=[{"field": "format", "message": "must be csv or json"}],
        )
    chain_link_pending()
    up_to = last_position()
    count = events_filter(filters=filters, up_to_position=up_to).count()
    record(
        AuditAction.AUDIT_EXPORTED,
        actor=actor,
        data={
            "format": fmt,
            "via": via,
            "filters": filters.as_params(),
            "events": count,
            "up_to_position": up_to,
        },
    )
    return up_to


@dataclass(frozen=True)
class EvidencePackage:
    filename: str
    content: bytes
    events: int


def evidence_export(*, actor: Actor, instance_id: int) -> EvidencePackage:
    """Build the evidence archive of one process instance and record that it was exported."""
    chain_link_pending()
    up_to = last_position()
    events = list(instance_timeline(instance_id=instance_id).filter(position__lte=up_to))
    if not events:
        raise NotFound(
            f"No audit events mention process instance {instance_id}: check the instance id."
        )
    verification = chain_verify()
    content = zip_bytes(
        evidence_files(
            instance_id=instance_id,
            events=events,
            up_to=up_to,
            chain=verification.as_dict(),
            anchor=verification.anchor.as_dict() if verification.anchor else None,
        )
    )
    record(
        AuditAction.AUDIT_EXPORTED,
        actor=actor,
        instance_id=instance_id,
        data={
            "format": "evidence-zip",
            "instance_id": instance_id,
            "events": len(events),
            "up_to_position": up_to,
            "chain_intact": verification.intact,
        },
    )
    return EvidencePackage(
        filename=f"flowgate-evidence-instance-{instance_id}.zip",
        content=content,
        events=len(events),
    )
