"""Reads of the audit trail: filtering, timelines, chain verification, anchors."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Count, Max, Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from apps.audit.actions import AuditAction
from apps.audit.chain import (
    GENESIS_HASH,
    STORED_FIELDS,
    canonical_bytes,
    event_hash,
    mac_problem,
)
from apps.audit.keys import verifying_keys
from apps.audit.models import AuditChainHead, AuditEvent, AuditLink, AuditMacStart

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
    checked_at: str = field(default_factory=lambda: timezone.now().isoformat())

    def summary(self) -> str:
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


def _iter_links(up_to: int, chunk_size: int) -> Iterator[tuple]:
    return (
        AuditLink.objects.filter(seq__lte=up_to)
        .order_by("seq")
        .values_list(*LINK_COLUMNS)
        .iterator(chunk_size=chunk_size)
    )


def chain_verify(*, anchor_file: Path | None = None, chunk_size: int = 5000) -> ChainVerification:
    """Recompute the whole chain and report the first broken link.

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

    def broken(position: int, reason: str) -> ChainVerification:
        return ChainVerification(
            intact=False,
            events=expected - 1,
            head_position=head_position,
            head_hash=head_hash,
            broken_position=position,
            reason=reason,
            anchor=anchor,
        )

    for row in _iter_links(up_to, chunk_size):
        seq, link_prev, stored_hash, event_id = row[:4]
        if seq != expected:
            missing = f"{expected}" if seq == expected + 1 else f"{expected}..{seq - 1}"
            return broken(expected, f"chain link(s) {missing} missing (the next link is {seq})")
        if row[4] is None:  # LEFT JOIN found no event (its time is never NULL)
            return broken(seq, f"event {event_id} of this link is missing: it was deleted")
        fields = dict(zip(names, row[4:], strict=True))
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
        prev_hash = stored_hash
        expected += 1

    count = expected - 1
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
        if anchor.position > 0 and anchored_hash != anchor.hash:
            return broken(
                anchor.position,
                f"link {anchor.position} does not have the hash recorded by the anchor of "
                f"{anchor.time}: the chain was rewritten",
            )
    forged = _unchained_forged(keys) or _copied_macs()
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
        AuditEvent.objects.filter(link__isnull=True, time__lt=started - UNCHAINED_GRACE)
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
    result = ChainVerification(
        intact=True,
        events=count,
        head_position=head_position,
        head_hash=head_hash,
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


def _unchained_forged(keys: dict[str, bytes]) -> list[tuple[int, str]]:
    """Events outside the chain whose writer MAC does not verify (the linker refused them)."""
    found = []
    rows = (
        AuditEvent.objects.filter(link__isnull=True)
        .order_by("position")
        .values(*STORED_FIELDS, "mac")
        .iterator(chunk_size=2000)
    )
    for fields in rows:
        problem = mac_problem(fields, fields["mac"], keys)
        if problem:
            found.append((fields["position"], problem))
    return found


def _copied_macs() -> list[tuple[int, str]]:
    """Copies of genuine events (same MAC twice: only if the unique index was dropped)."""
    copied = (
        AuditEvent.objects.filter(mac__isnull=False)
        .values("mac")
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
