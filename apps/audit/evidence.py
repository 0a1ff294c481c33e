"""The evidence package of one process instance: its audit events (JSON and CSV), the BPMN and DMN
files they refer to and the proof (each event's chain link and canonical text).

``audit.services.evidence_export`` serves it (with a whole-chain verification, audited); the
retention purge puts one into each instance archive before the rows go (``evidence_packs``), so
an auditor still has it after the purge (docs/retention.md).
"""

from __future__ import annotations

import io
import json
from typing import Any

from django.utils import timezone

from apps.audit.actions import AuditAction
from apps.audit.exporting import csv_rows, json_chunks, zip_bytes
from apps.audit.models import AuditEvent
from apps.audit.selectors import event_canonical
from apps.common.hooks import RAISE, hook


# Who supplies the BPMN files of an evidence package: the processes app registers at start-up
# (it sits above the audit trail, which imports none of it).
@hook("audit.evidence_bpmn_files", errors=RAISE)
def evidence_bpmn_files(version_ids: list[int]) -> dict[int, tuple[str, str]]:
    """{version id: (archive name, BPMN XML)} for the versions the receiver has."""
    raise NotImplementedError  # a prototype: never called


def _bpmn_found(version_ids: list[int]) -> dict[int, tuple[str, str]]:
    found: dict[int, tuple[str, str]] = {}
    for files_of in evidence_bpmn_files.send(version_ids) if version_ids else ():
        found.update(files_of)
    return found


def _bpmn_files(
    version_ids: list[int], known: dict[int, tuple[str, str]] | None = None
) -> tuple[dict[str, str], list[str]]:
    """BPMN XML of the given versions, by archive path, plus notes about what is missing;
    ``known``: the files of a whole batch, read once (``evidence_packs``)."""
    if not version_ids:
        return {}, ["No process version is referenced by these events."]
    if not evidence_bpmn_files:
        return {}, ["The processes app is not installed: no BPMN files could be included."]
    found = _bpmn_found(version_ids) if known is None else known
    files = {f"bpmn/{found[pk][0]}": found[pk][1] for pk in version_ids if pk in found}
    notes = [f"Process version {pk} no longer exists." for pk in version_ids if pk not in found]
    return files, notes


# Who supplies the DMN files of the decisions an instance evaluated (the processes app).
@hook("audit.evidence_dmn_files", errors=RAISE)
def evidence_dmn_files(deployment_ids: list[int]) -> dict[int, tuple[str, str]]:
    """{DMN deployment id: (archive name, DMN XML)} for the deployments the receiver has."""
    raise NotImplementedError  # a prototype: never called


def _dmn_files(events: list[AuditEvent]) -> dict[str, str]:
    """The DMN files of the decisions evaluated in ``events`` (``decision.evaluated``)."""
    ids = sorted(
        {
            e.data["deployment_id"]
            for e in events
            if e.action == AuditAction.DECISION_EVALUATED
            and isinstance(e.data, dict)
            and isinstance(e.data.get("deployment_id"), int)
        }
    )
    found: dict[int, tuple[str, str]] = {}
    for files_of in evidence_dmn_files.send(ids) if ids else ():
        found.update(files_of)
    return {f"dmn/{name}": xml for name, xml in found.values()}


_EVIDENCE_README = """Flowgate evidence package for process instance {instance_id}

events.json   every audit event about the instance, up to chain position {up_to}
events.csv    the same events as a table (text cells starting with = + - @ get a leading ')
bpmn/         the BPMN XML of each process version the events refer to
dmn/          the DMN XML of each decision deployment the events evaluated (if any)
proof.json    the verification proof:
              - "chain": the result of verifying the WHOLE audit chain when this package was made
              - "events": per event its chain link (seq, prev_hash, hash) and the canonical
                text whose SHA-256 (hex) is the hash; recompute it with any SHA-256 tool
              - "anchor": the latest exported chain head; compare it with your own copy

A link's hash covers all fields of its event plus the link's seq and prev_hash, so changing,
removing or re-ordering any event changes the hashes after it.
"""


def _event_proof(event: AuditEvent) -> dict[str, Any]:
    link = getattr(event, "link", None)
    if link is None:
        return {"position": event.position, "seq": None, "note": "not chained yet"}
    return {
        "position": event.position,
        "seq": link.seq,
        "prev_hash": link.prev_hash,
        "hash": link.hash,
        "canonical": event_canonical(event),
    }


def evidence_files(
    *,
    instance_id: int,
    events: list[AuditEvent],
    up_to: int,
    chain: dict[str, Any] | None,
    anchor: dict[str, Any] | None,
    notes: tuple[str, ...] = (),
    known_bpmn: dict[int, tuple[str, str]] | None = None,
) -> dict[str, str | bytes]:
    """The files of the package (name -> content); ``events`` with their links selected."""
    version_ids = sorted({e.version_id for e in events if e.version_id is not None})
    bpmn, missing = _bpmn_files(version_ids, known_bpmn)
    proof = {
        "instance_id": instance_id,
        "generated_at": timezone.now().isoformat(),
        "covers_up_to_position": up_to,
        "hash_algorithm": "SHA-256 over the canonical text (UTF-8), hex digest",
        "chain": chain,
        "anchor": anchor,
        "events": [_event_proof(e) for e in events],
        "process_versions": version_ids,
        "notes": [*notes, *missing],
    }
    csv_buffer = io.StringIO()
    for line in csv_rows(events):
        csv_buffer.write(line)
    return {
        "README.txt": _EVIDENCE_README.format(instance_id=instance_id, up_to=up_to),
        "events.json": "".join(json_chunks(events)),
        "events.csv": csv_buffer.getvalue(),
        "proof.json": json.dumps(proof, indent=2, ensure_ascii=False),
        **bpmn,
        **_dmn_files(events),
    }


ARCHIVED_NOTE = (
    "Written into the instance's retention archive just before its rows were purged. The whole"
    " chain was not verified for this package (in proof.json, chain is null): the purge's"
    " retention.purged audit event holds the archive's SHA-256 and a signed checkpoint covers"
    " the archived events (manage.py retention_purge --check verifies both)."
)


def evidence_packs(
    instance_ids: list[int], events: dict[int, list[AuditEvent]] | None = None
) -> dict[int, bytes]:
    """The evidence package (zip) of each instance, for its retention archive: one query for
    the events of the whole batch (or ``events``: the batch's events by instance, each with its
    link selected, in position order, when the caller has read them already); the chain is not
    verified per package (see ARCHIVED_NOTE).
    Requires: the events are chained (``chain_link_pending``), as the purge does first."""
    if events is None:
        events = batch_events(instance_ids)
    events = {pk: events.get(pk, []) for pk in instance_ids}
    versions = sorted({e.version_id for mine in events.values() for e in mine if e.version_id})
    known_bpmn = _bpmn_found(versions) if evidence_bpmn_files else {}
    packs = {}
    for pk, mine in events.items():
        up_to = mine[-1].position if mine else 0
        packs[pk] = zip_bytes(
            evidence_files(
                instance_id=pk,
                events=mine,
                up_to=up_to,
                chain=None,
                anchor=None,
                notes=(ARCHIVED_NOTE,),
                known_bpmn=known_bpmn,
            )
        )
    return packs


def batch_events(instance_ids: list[int]) -> dict[int, list[AuditEvent]]:
    """The audit events of the instances, with their links, by instance, in position order."""
    events: dict[int, list[AuditEvent]] = {pk: [] for pk in instance_ids}
    rows = AuditEvent.objects.select_related("link").filter(instance_id__in=instance_ids)
    for event in rows.order_by("position"):
        events.setdefault(event.instance_id or 0, []).append(event)
    return events
