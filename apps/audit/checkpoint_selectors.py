"""Reads about checkpoints (decision 038; the writes are in ``apps.audit.checkpoints``): what
the signed checkpoints say, checked, for the chain verifier; and archived events checked against
the chain links that stayed after their removal."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.dateparse import parse_datetime

from apps.audit.chain import (
    CHECKPOINT_FIELDS,
    EMPTY_DIGEST,
    STORED_FIELDS,
    checkpoint_mac_problem,
    event_hash,
)
from apps.audit.keys import verifying_keys
from apps.audit.models import AuditCheckpoint, AuditLink


def checkpoint_fields(checkpoint: AuditCheckpoint) -> dict[str, Any]:
    return {name: getattr(checkpoint, name) for name in CHECKPOINT_FIELDS}


def checkpoint_problem(checkpoint: AuditCheckpoint, keys: Mapping[str, bytes]) -> str:
    return checkpoint_mac_problem(checkpoint_fields(checkpoint), checkpoint.mac, keys)


@dataclass(frozen=True)
class CheckpointState:
    """What the checkpoints say, read and checked before the chain is streamed."""

    checkpoints: list[AuditCheckpoint]
    # seq -> the hash the checkpoints record for it
    hashes: dict[int, str]
    covered_up_to: int  # links up to here may have lost their event
    archived_total: int
    archived_digest: str
    problem: str = ""
    problem_position: int = 0


def checkpoint_state() -> CheckpointState:
    """Every checkpoint, checked: its MAC, and that the running totals follow each other."""
    keys = verifying_keys()
    checkpoints = list(AuditCheckpoint.objects.order_by("id"))
    hashes: dict[int, str] = {}
    total, covered = 0, 0
    for checkpoint in checkpoints:
        problem = checkpoint_problem(checkpoint, keys)
        if not problem and checkpoint.archived_total != total + checkpoint.removed:
            problem = (
                f"it counts {checkpoint.archived_total} archived events, but the checkpoint "
                f"before it counts {total} and this one removed {checkpoint.removed}"
            )
        if not problem and hashes.get(checkpoint.up_to_seq, checkpoint.up_to_hash) != (
            checkpoint.up_to_hash
        ):
            problem = "another checkpoint records a different hash for the same link"
        if problem:
            return CheckpointState(
                checkpoints, hashes, covered, total, EMPTY_DIGEST,
                problem=f"checkpoint {checkpoint.pk} was not written by Flowgate or was altered: "
                f"{problem}",
                problem_position=checkpoint.up_to_seq,
            )  # fmt: skip
        hashes[checkpoint.up_to_seq] = checkpoint.up_to_hash
        total = checkpoint.archived_total
        covered = max(covered, checkpoint.up_to_seq)
    digest = checkpoints[-1].archived_digest if checkpoints else EMPTY_DIGEST
    return CheckpointState(checkpoints, hashes, covered, total, digest)


def archived_events_check(lines: Iterable[Mapping[str, Any]]) -> list[str]:
    """Problems of archived audit events (archive lines of kind ``audit_event``, with their
    ``link__seq``) checked against the chain links that stayed; [] when all match."""
    rows = list(lines)
    links = {
        seq: (prev_hash, stored)
        for seq, prev_hash, stored in AuditLink.objects.filter(
            seq__in=[r.get("link__seq") for r in rows]
        ).values_list("seq", "prev_hash", "hash")
    }
    problems = []
    for row in rows:
        seq = row.get("link__seq")
        if seq not in links:
            problems.append(f"event {row.get('position')}: no chain link {seq}")
            continue
        fields = {name: row.get(name) for name in STORED_FIELDS}
        fields["time"] = _parse_time(fields["time"])
        fields["seq"], fields["prev_hash"] = seq, links[seq][0]
        if event_hash(fields) != links[seq][1]:
            problems.append(f"event {row.get('position')} does not match chain link {seq}")
    return problems


def _parse_time(value: Any) -> Any:
    if isinstance(value, str):
        return parse_datetime(value)
    return value
