"""Verifying the audit chain: every link, every event's hash and writer MAC, the chain head, the
latest anchor, the signed checkpoints of archived events (decision 038), and the events outside
the chain. Read-only; ``apps.audit.services.verification_run`` records who asked."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db.models import Count, Max
from django.utils import timezone

from apps.audit.chain import (
    GENESIS_HASH,
    STORED_FIELDS,
    archived_digest_text,
    archived_element,
    event_hash,
    format_time,
    mac_problem,
)
from apps.audit.checkpoint_selectors import CheckpointState, checkpoint_state
from apps.audit.keys import verifying_keys
from apps.audit.models import (
    AuditChainHead,
    AuditEvent,
    AuditLink,
    AuditMacStart,
    AuditRemovalPermit,
)
from apps.audit.selectors import Anchor, AnchorFileError, anchor_latest

# --- verification ---------------------------------------------------------------------------------


@dataclass
class ChainVerification:
    intact: bool
    events: int
    head_position: int
    head_hash: str
    broken_position: int | None = None
    reason: str = ""
    anchor: Anchor | None = None
    anchor_note: str = ""
    # Positions of events in the table that Flowgate's writer did not write (no valid MAC).
    forged: list[int] = field(default_factory=list)
    # Events archived and removed under signed checkpoints (their links stay in the chain).
    archived: int = 0
    checkpoints: int = 0
    # 0: checked from link 1; else the checkpointed link the check started after.
    checked_from: int = 0
    checked_at: str = field(default_factory=lambda: timezone.now().isoformat())

    def summary(self) -> str:
        text = self._summary()
        if self.checked_from:
            text += f" (checked from the signed checkpoint at link {self.checked_from})"
        return text

    def _summary(self) -> str:
        if self.intact and self.checkpoints:
            return (
                f"intact, {self.events} events ({self.archived} archived, under "
                f"{self.checkpoints} checkpoint{'s' if self.checkpoints != 1 else ''}), "
                f"head {self.head_hash}"
            )
        if self.intact:
            return f"intact, {self.events} events, head {self.head_hash}"
        if self.forged and self.broken_position is None:
            return f"not intact: {self.reason}"
        if self.broken_position is None:
            return f"cannot confirm the chain: {self.reason}"
        return f"broken at position {self.broken_position}: {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "intact": self.intact,
            "summary": self.summary(),
            "events": self.events,
            "head_position": self.head_position,
            "head_hash": self.head_hash,
            "broken_position": self.broken_position,
            "reason": self.reason,
            "anchor": self.anchor.as_dict() if self.anchor else None,
            "anchor_note": self.anchor_note,
            "forged": self.forged,
            "archived": self.archived,
            "checkpoints": self.checkpoints,
            "checked_from": self.checked_from,
            "checked_at": self.checked_at,
        }


LINK_COLUMNS: tuple[str, ...] = (
    "seq",
    "prev_hash",
    "hash",
    "event_id",
    *(f"event__{name}" for name in STORED_FIELDS[1:]),  # STORED_FIELDS[0] is position = event_id
    "event__mac",
)
# Verification reports at most this many events that Flowgate's writer did not write.
FORGED_LISTED = 20
# Events may wait this long for their link before the verifier calls them unchained.
UNCHAINED_GRACE = dt.timedelta(minutes=5)
# A bounded verification looks at the clock at the first link and once per this many after.
CLOCK_EVERY_LINKS = 1000


class VerificationTimedOut(Exception):
    """A bounded verification (``max_seconds``) ran out of time before the end of the chain:
    nothing is known about the rest, so there is no result (neither intact nor broken)."""

    def __init__(self, *, checked: int, max_seconds: float) -> None:
        self.checked = checked
        super().__init__(
            f"audit verification stopped after {max_seconds:g} s at link {checked}: the chain "
            "is too long for the time allowed (run `manage.py audit_verify --checkpoint` by "
            "hand, or raise FLOWGATE_AUDIT_VERIFY_MAX_SECONDS)"
        )


def _iter_links(up_to: int, chunk_size: int, after: int = 0) -> Iterator[tuple]:
    return (
        AuditLink.objects.filter(seq__lte=up_to, seq__gt=after)
        .order_by("seq")
        .values_list(*LINK_COLUMNS)
        .iterator(chunk_size=chunk_size)
    )


def chain_verify(
    *,
    anchor_file: Path | None = None,
    chunk_size: int = 5000,
    from_checkpoint: bool = False,
    max_seconds: float | None = None,
) -> ChainVerification:
    """Recompute the whole chain and report the first broken link.

    ``from_checkpoint``: start after the signed checkpoint furthest along the chain, from the
    hash it records, instead of link 1 (decision 038): what comes after it is checked as fully
    as ever, the prefix is taken on the checkpoint's word (a full run checks it), and the
    archived count is the checkpoint's.

    ``max_seconds``: give up (``VerificationTimedOut``) once the links took longer than that;
    the scheduled verification uses it, the command and the page do not.

    Checks, in chain order: no link is missing, no link points at a missing event, each
    ``prev_hash`` is the previous link's hash, each hash matches the recomputed hash of the
    event's content, and the event's writer MAC proves that ``record()`` wrote it (links up to
    ``AuditMacStart.legacy_up_to_seq`` predate MACs). Then: the chain ends where the chain-head
    row says, contains the latest anchor (a tail cut off after the anchor was written is caught
    even when the head row was rewritten too), every event outside the chain has a valid MAC
    (the linker refuses the others), no MAC appears twice, and every event older than a few
    minutes is in the chain.
    """
    try:  # the anchor first: it is never ahead of the head read after it
        anchor = anchor_latest(path=anchor_file)
        anchor_error = ""
    except AnchorFileError as exc:
        anchor, anchor_error = None, str(exc)
    head = AuditChainHead.objects.filter(pk=1).values_list("position", "hash").first()
    head_position, head_hash = head if head else (0, GENESIS_HASH)
    started = timezone.now()
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    # Linkers commit the head together with the links: read up to the head we saw.
    up_to = max(head_position, anchor.position if anchor else 0)
    names = (*STORED_FIELDS[1:], "mac")
    keys = verifying_keys()
    legacy_up_to = (
        AuditMacStart.objects.filter(pk=1).values_list("legacy_up_to_seq", flat=True).first() or 0
    )
    expected = 1
    prev_hash = GENESIS_HASH
    anchored_hash: str | None = None
    checkpoints = checkpoint_state()
    archived, archived_sum = 0, 0
    start = 0
    if from_checkpoint and checkpoints.checkpoints and not checkpoints.problem:
        start = checkpoints.covered_up_to
        expected, prev_hash = start + 1, checkpoints.hashes[start]
        archived = checkpoints.archived_total

    def broken(position: int, reason: str) -> ChainVerification:
        return ChainVerification(
            intact=False,
            events=expected - 1,
            head_position=head_position,
            head_hash=head_hash,
            broken_position=position,
            reason=reason,
            anchor=anchor,
            archived=archived,
            checkpoints=len(checkpoints.checkpoints),
            checked_from=start,
        )

    if checkpoints.problem:
        return broken(checkpoints.problem_position, checkpoints.problem)
    for row in _iter_links(up_to, chunk_size, after=start):
        seq, link_prev, stored_hash, event_id = row[:4]
        if (
            deadline is not None
            and (expected - start) % CLOCK_EVERY_LINKS == 1
            and time.monotonic() > deadline
        ):
            raise VerificationTimedOut(checked=expected - 1, max_seconds=max_seconds or 0)
        if seq != expected:
            missing = f"{expected}" if seq == expected + 1 else f"{expected}..{seq - 1}"
            return broken(expected, f"chain link(s) {missing} missing (the next link is {seq})")
        if row[4] is None:  # LEFT JOIN found no event (its time is never NULL)
            if seq > checkpoints.covered_up_to:
                uncovered = " (no checkpoint covers this link)" if checkpoints.checkpoints else ""
                return broken(
                    seq, f"event {event_id} of this link is missing: it was deleted{uncovered}"
                )
            if link_prev != prev_hash:
                return broken(
                    seq, f"prev_hash of link {seq} does not match the hash of link {seq - 1}"
                )
            archived += 1  # archived under a checkpoint: the link carries the chain on
            archived_sum += archived_element(seq)
            if checkpoints.hashes.get(seq, stored_hash) != stored_hash:
                return broken(seq, f"link {seq} does not have the hash its checkpoint records")
            prev_hash = stored_hash
            expected += 1
            continue
        fields = dict(zip(names, row[4:], strict=True))
        fields["time"] = format_time(fields["time"])  # once, for both the hash and the MAC
        fields["position"] = event_id
        fields["seq"] = seq
        fields["prev_hash"] = link_prev
        if link_prev != prev_hash:
            return broken(
                seq,
                f"prev_hash {link_prev[:16]}... does not match the hash of link {seq - 1} "
                f"({prev_hash[:16]}...): links re-ordered, removed or inserted",
            )
        if event_hash(fields) != stored_hash:
            return broken(
                seq, f"event {event_id} does not match its hash: the event or link was altered"
            )
        mac = fields["mac"]
        if mac is not None or seq > legacy_up_to:
            problem = mac_problem(fields, mac, keys)
            if problem:
                return broken(
                    seq,
                    f"event {event_id} was not written by Flowgate's audit writer: {problem} "
                    "(a row inserted into the audit table directly, with its link)",
                )
        if anchor is not None and seq == anchor.position:
            anchored_hash = stored_hash
        if checkpoints.hashes.get(seq, stored_hash) != stored_hash:
            return broken(
                seq,
                f"link {seq} does not have the hash its signed checkpoint records: the chain "
                "was rewritten",
            )
        prev_hash = stored_hash
        expected += 1

    count = expected - 1
    problem = "" if start else _archived_problem(checkpoints, count, archived, archived_sum)
    if problem:
        return broken(min(count + 1, checkpoints.covered_up_to), problem)
    if count < head_position:
        return broken(
            count + 1,
            f"the chain ends at link {count} but the chain head records link {head_position}: "
            "links were removed from the end",
        )
    if count > head_position or (count and prev_hash != head_hash):
        return broken(
            head_position or 1,
            f"the chain head ({head_position}, {head_hash[:16]}...) does not match the last link "
            f"({count}, {prev_hash[:16]}...): the chain head was rewritten",
        )
    if anchor is not None:
        if anchor.position > count:
            return broken(
                count + 1,
                f"the anchor of {anchor.time} records link {anchor.position} but the chain ends "
                f"at link {count}: links were removed from the end",
            )
        if anchor.position > start and anchored_hash != anchor.hash:
            return broken(
                anchor.position,
                f"link {anchor.position} does not have the hash recorded by the anchor of "
                f"{anchor.time}: the chain was rewritten",
            )
    # From a checkpoint: only events written after the checkpointed link's event (a full run
    # looks at every row; the prefix is taken on the checkpoint's word).
    since = (
        AuditLink.objects.filter(seq=start).values_list("event_id", flat=True).first() or 0
        if start
        else 0
    )
    forged = _unchained_forged(keys, since) or _copied_macs(since)
    if forged:
        return ChainVerification(
            intact=False,
            events=count,
            head_position=head_position,
            head_hash=head_hash,
            reason=_forged_reason(forged),
            anchor=anchor,
            forged=[position for position, _problem in forged[:FORGED_LISTED]],
        )
    unchained = (
        AuditEvent.objects.filter(
            link__isnull=True, time__lt=started - UNCHAINED_GRACE, position__gt=since
        )
        .order_by("position")
        .values_list("position", flat=True)
        .first()
    )
    if unchained is not None:
        return broken(
            count + 1,
            f"event {unchained} is older than {UNCHAINED_GRACE} but in no chain link: its link "
            "was removed, or the linker (audit.link) is not running",
        )
    if AuditRemovalPermit.objects.exists():
        return broken(
            count + 1,
            "removal permits for audit events exist outside a purge: they were inserted by SQL",
        )
    result = ChainVerification(
        intact=True,
        events=count,
        head_position=head_position,
        head_hash=head_hash,
        archived=archived,
        checkpoints=len(checkpoints.checkpoints),
        checked_from=start,
        anchor=anchor,
        anchor_note=(
            f"contains the anchor of {anchor.time} (link {anchor.position})"
            if anchor
            else anchor_error or "no anchor written yet"
        ),
    )
    if anchor_error:
        result.intact = False
        result.reason = anchor_error
    return result


def _archived_problem(
    checkpoints: CheckpointState, count: int, archived: int, archived_sum: int
) -> str:
    """Do the links that lost their event match what the signed checkpoints archived?"""
    if checkpoints.covered_up_to > count:
        return (
            f"a checkpoint records link {checkpoints.covered_up_to} but the chain ends at link "
            f"{count}: links were removed from the end"
        )
    if archived != checkpoints.archived_total:
        return (
            f"{archived} event(s) are missing from links covered by checkpoints, but the "
            f"checkpoints archived {checkpoints.archived_total}: events were deleted outside a "
            "purge (or archived ones put back)"
        )
    if archived_digest_text(archived_sum) != checkpoints.archived_digest:
        return (
            f"the {archived} events missing from the chain are not the ones the checkpoints "
            "archived: events were deleted outside a purge and others put back"
        )
    return ""


def _unchained_forged(keys: dict[str, bytes], since: int = 0) -> list[tuple[int, str]]:
    """Events outside the chain whose writer MAC does not verify (the linker refused them)."""
    found = []
    rows = (
        AuditEvent.objects.filter(link__isnull=True, position__gt=since)
        .order_by("position")
        .values(*STORED_FIELDS, "mac")
        .iterator(chunk_size=2000)
    )
    for fields in rows:
        problem = mac_problem(fields, fields["mac"], keys)
        if problem:
            found.append((fields["position"], problem))
    return found


def _copied_macs(since: int = 0) -> list[tuple[int, str]]:
    """Copies of genuine events (same MAC twice: only if the unique index was dropped)."""
    rows = AuditEvent.objects.filter(mac__isnull=False)
    if since:  # a copy is newer than its original: look up the recent rows' MACs everywhere
        rows = rows.filter(mac__in=rows.filter(position__gt=since).values("mac"))
    copied = (
        rows.values("mac")
        .annotate(n=Count("position"), newest=Max("position"))
        .filter(n__gt=1)
        .order_by("newest")
        .values_list("newest", flat=True)
    )
    return [(position, "it repeats the writer MAC of an earlier event") for position in copied]


def _forged_reason(forged: list[tuple[int, str]]) -> str:
    listed = ", ".join(str(position) for position, _problem in forged[:FORGED_LISTED])
    more = f" and {len(forged) - FORGED_LISTED} more" if len(forged) > FORGED_LISTED else ""
    return (
        f"{len(forged)} event(s) in the audit table were not written by Flowgate's audit writer "
        f"(event {forged[0][0]}: {forged[0][1]}): events {listed}{more}. They were inserted "
        "into the database directly; the linker refuses to chain them"
    )
