"""Removing archived audit events under a signed checkpoint (decision 038).

Retention archives a finished instance (its audit events go into the archive file with their
chain position and hash) and then calls ``audit_archived_remove`` in the same transaction. It
chains whatever waits, writes an ``AuditCheckpoint`` over the chain prefix up to the head (last
link and hash, how many events are archived in all and the set digest of their positions, signed
with the audit writer key), deletes the instances' chained events under removal permits (the
only DELETE the event table's trigger allows), and records ``audit.events_archived``.

The links of removed events stay: the chain still runs through them, so the verifier checks every
remaining event as before, accepts a link without its event only when a checkpoint covers it and
the missing positions add up to the latest checkpoint's count and digest, and an archive file's
events can be checked against their links (``archived_events_check``).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from apps.audit.actions import AuditAction
from apps.audit.chain import EMPTY_DIGEST, archived_digest_add, checkpoint_mac_make
from apps.audit.checkpoint_selectors import checkpoint_fields
from apps.audit.keys import signing_key
from apps.audit.models import AuditCheckpoint, AuditLink, AuditRemovalPermit
from apps.audit.services import _lock_chain_head, chain_link_pending, record
from apps.audit.verification import ChainVerification
from apps.common.actors import Actor

# Event positions deleted per statement.
DELETE_CHUNK = 900  # SQLite: under its 999 placeholders
# Governance events stay even when they name a purged instance (a legal hold set or lifted,
# settings, the trail's own events): they are about the portal's rules, not the request.
KEPT_ACTION_PREFIXES = ("admin.", "audit.", "retention.", "auth.")


def _events_delete(positions: list[int]) -> None:
    """DELETE the events (the trigger checks each row against the permits): one array
    parameter on PostgreSQL rather than thousands of placeholders."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DELETE FROM audit_auditevent WHERE position = ANY(%s)", [positions])
            return
        for start in range(0, len(positions), DELETE_CHUNK):
            chunk = positions[start : start + DELETE_CHUNK]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(f"DELETE FROM audit_auditevent WHERE position IN ({marks})", chunk)  # noqa: S608


def _checkpoint_save(checkpoint: AuditCheckpoint) -> AuditCheckpoint:
    key = signing_key()
    checkpoint.mac = checkpoint_mac_make(
        checkpoint_fields(checkpoint), key_id=key.id, secret=key.secret
    )
    checkpoint.save()
    return checkpoint


@transaction.atomic
def verified_checkpoint_write(*, result: ChainVerification) -> AuditCheckpoint:
    """Sign the head an intact full verification reached (nothing removed), so that
    ``chain_verify(from_checkpoint=True)`` can start there."""
    if not result.intact or result.checked_from:
        raise ValueError("only an intact full verification can be checkpointed")
    _lock_chain_head(wait=True)  # after any purge that is writing its checkpoint
    previous = (
        AuditCheckpoint.objects.order_by("-id")
        .values_list("archived_total", "archived_digest")
        .first()
    )
    total, digest = previous if previous else (0, EMPTY_DIGEST)
    return _checkpoint_save(
        AuditCheckpoint(
            time=timezone.now(),
            up_to_seq=result.head_position,
            up_to_hash=result.head_hash,
            removed=0,
            archived_total=total,
            archived_digest=digest,
            instance_ids=[],
        )
    )


def audit_archived_remove(*, instance_ids: Iterable[int], actor: Actor) -> AuditCheckpoint | None:
    """Remove the chained audit events of the archived, purged instances ``instance_ids`` under
    a new signed checkpoint, and record it. None when they have no chained events.

    Must run inside the caller's transaction (the purge that archived the instances): if it
    rolls back, the events, the checkpoint and the record stay as they were. Locks the chain
    head until that transaction ends (linkers wait). Events of these instances that are not in
    the chain (refused by the linker) are not removed: verification keeps reporting them.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("audit_archived_remove runs inside the purge's transaction")
    ids = sorted({int(i) for i in instance_ids})
    if not ids:
        return None
    chain_link_pending()
    head = _lock_chain_head(wait=True)
    if head is None:  # wait=True never gives up; a None here is a bug, not a busy linker
        raise RuntimeError("the audit chain head could not be locked")
    kept = Q()
    for prefix in KEPT_ACTION_PREFIXES:
        kept |= Q(event__action__startswith=prefix)
    links = list(
        AuditLink.objects.filter(event__instance_id__in=ids, seq__lte=head.position)
        .exclude(kept)
        .order_by("seq")
        .values_list("seq", "event_id")
    )
    if not links:
        return None
    previous = (
        AuditCheckpoint.objects.order_by("-id")
        .values_list("archived_total", "archived_digest")
        .first()
    )
    total, digest = previous if previous else (0, EMPTY_DIGEST)
    checkpoint = AuditCheckpoint(
        time=timezone.now(),
        up_to_seq=head.position,
        up_to_hash=head.hash,
        removed=len(links),
        archived_total=total + len(links),
        archived_digest=archived_digest_add(digest, (seq for seq, _event in links)),
        instance_ids=ids,
    )
    _checkpoint_save(checkpoint)
    AuditRemovalPermit.objects.bulk_create(
        [AuditRemovalPermit(instance_id=i, checkpoint=checkpoint) for i in ids]
    )
    _events_delete([event for _seq, event in links])
    AuditRemovalPermit.objects.filter(checkpoint=checkpoint)._raw_delete(connection.alias)
    record(
        AuditAction.AUDIT_EVENTS_ARCHIVED,
        actor=actor,
        data={
            "checkpoint": checkpoint.pk,
            "up_to_seq": checkpoint.up_to_seq,
            "up_to_hash": checkpoint.up_to_hash,
            "removed": checkpoint.removed,
            "archived_total": checkpoint.archived_total,
            "archived_digest": checkpoint.archived_digest,
            "instances": len(ids),
        },
    )
    return checkpoint
