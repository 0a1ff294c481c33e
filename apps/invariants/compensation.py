"""Compensation invariants (decision 034): no activation is undone twice, and a finished
compensation left nothing completed in its reach.

The record is the one the engine keeps in each instance's state (``core.compensation``); the
audit trail's ``compensation.handler`` events are checked against it."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from apps.audit.actions import AuditAction
from apps.audit.models import AuditEvent
from apps.engine.core.compensation import RECORD_KEY, read_record
from apps.engine.models import ProcessInstance
from apps.invariants.violations import Context, Violation


def _record(state: str) -> dict[str, Any] | None:
    try:
        data = json.loads(state)["wf"].get("data") or {}
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return read_record(data) if RECORD_KEY in data else None


def compensated_once(ctx: Context) -> list[Violation]:
    """Each activation is undone at most once (audit: one ``compensation.handler`` event per
    activation), and every activation the record says was undone has its event."""
    found: list[Violation] = []
    events = Counter(
        AuditEvent.objects.filter(action=AuditAction.COMPENSATION_HANDLER).values_list(
            "instance_id", "data__activation"
        )
    )
    for (instance_id, activation), count in sorted(events.items(), key=str):
        if count > 1:
            found.append(
                Violation(
                    "compensated_once",
                    f"instance {instance_id}: activation {activation} was compensated "
                    f"{count} times",
                )
            )
    for pk, record in _records():
        for activation in record["activations"]:
            if activation["state"] != "compensated" or not activation.get("handler"):
                continue
            if events.get((pk, activation["id"]), 0) == 0:
                found.append(
                    Violation(
                        "compensated_once",
                        f"instance {pk}: activation {activation['id']} "
                        f"({activation['activity']}) was compensated without its audit event",
                    )
                )
    return found


def finished_compensation_is_complete(ctx: Context) -> list[Violation]:
    """After a finished compensation, every compensable activation in its reach that completed
    before it started was compensated."""
    found: list[Violation] = []
    for pk, record in _records():
        for run in record["runs"]:
            if run["state"] != "finished":
                continue
            for activation in record["activations"]:
                if activation["seq"] > run.get("at", 0) or activation["state"] == "compensated":
                    continue
                in_scope = run.get("top") or activation["scope"] == run["scope"]
                ref = run.get("activity_ref")
                if in_scope and (ref is None or activation["activity"] == ref):
                    found.append(
                        Violation(
                            "compensation_complete",
                            f"instance {pk}: compensation {run['throw']} finished but "
                            f"{activation['activity']} (activation {activation['id']}) is "
                            f"still {activation['state']}",
                        )
                    )
    return found


def _records():
    rows = ProcessInstance.objects.filter(state__contains=f'"{RECORD_KEY}"').order_by("pk")
    for pk, state in rows.values_list("pk", "state").iterator():
        record = _record(state)
        if record is not None:
            yield pk, record
