"""audit_verify finds every kind of tampering; audit_anchor makes tail truncation visible."""

from __future__ import annotations

import datetime as dt
import decimal
import json

import pytest
from django.core.management import CommandError, call_command

from apps.audit.actions import AuditAction
from apps.audit.chain import GENESIS_HASH, event_hash
from apps.audit.models import AuditChainHead, AuditEvent
from apps.audit.selectors import chain_verify
from apps.audit.services import Actor, anchor_write, record
from tests.audit.support import tamper

pytestmark = pytest.mark.django_db


def _five_events() -> list[AuditEvent]:
    return [
        record(AuditAction.TASK_CLAIMED, actor=Actor.system("test"), task_id=n, data={"n": n})
        for n in range(1, 6)
    ]


def _verify_output() -> str:
    from io import StringIO

    out = StringIO()
    call_command("audit_verify", stdout=out)
    return out.getvalue()


def test_empty_chain_is_intact():
    assert _verify_output().splitlines()[0] == f"intact, 0 events, head {GENESIS_HASH}"


def test_untouched_chain_is_intact():
    events = _five_events()
    assert _verify_output().splitlines() == [
        f"intact, 5 events, head {events[-1].hash}",
        "anchor: no anchor written yet",
    ]


def test_awkward_values_survive_the_database_round_trip():
    record(
        AuditAction.SETTINGS_CHANGED,
        before={"big": 1e16, "half": 0.5, "tiny": 1.5e-10, "nan": float("nan")},
        after={"nul": "a\x00b", "when": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)},
        data={"amount": decimal.Decimal("12.30"), "tags": ("x", "y"), 3: "int key"},
    )
    stored = AuditEvent.objects.get()
    assert stored.before == {"big": 10**16, "half": 0.5, "tiny": 1.5e-10, "nan": "nan"}
    assert stored.after == {"nul": "a\ufffdb", "when": "2026-01-02T03:04:05+00:00"}
    assert stored.data == {"amount": "12.30", "tags": ["x", "y"], "3": "int key"}
    assert chain_verify().intact is True


def test_tampered_row_is_detected():
    _five_events()
    tamper("UPDATE audit_auditevent SET actor_label = %s WHERE position = %s", ("mallory", 3))
    with pytest.raises(CommandError) as exc:
        call_command("audit_verify")
    assert str(exc.value) == (
        "broken at position 3: content does not match its hash: the event was altered"
    )


def test_tampered_row_with_recomputed_hash_breaks_the_next_link():
    events = _five_events()
    target = AuditEvent.objects.get(position=3)
    target.data = {"n": 99}
    fields = {f.attname: getattr(target, f.attname) for f in AuditEvent._meta.concrete_fields}
    new_hash = event_hash(fields)
    tamper(
        "UPDATE audit_auditevent SET data = %s, hash = %s WHERE position = 3",
        (json.dumps({"n": 99}), new_hash),
    )
    result = chain_verify()
    assert result.intact is False
    assert result.broken_position == 4
    assert result.reason == (
        f"prev_hash {events[2].hash[:16]}... does not match the hash of event 3 "
        f"({new_hash[:16]}...): events re-ordered, removed or inserted"
    )


def test_deleted_row_is_detected():
    _five_events()
    tamper("DELETE FROM audit_auditevent WHERE position = %s", (2,))
    with pytest.raises(CommandError) as exc:
        call_command("audit_verify")
    assert str(exc.value) == "broken at position 2: event(s) 2 missing (the next event is 3)"


def test_swapped_pair_is_detected():
    _five_events()
    for old, new in ((2, -2), (3, 2), (-2, 3)):
        tamper("UPDATE audit_auditevent SET position = %s WHERE position = %s", (new, old))
    assert list(AuditEvent.objects.values_list("task_id", flat=True)) == [1, 3, 2, 4, 5]
    result = chain_verify()
    assert (result.intact, result.broken_position) == (False, 2)


def test_removed_tail_is_detected_by_the_chain_head():
    _five_events()
    tamper("DELETE FROM audit_auditevent WHERE position > %s", (3,))
    result = chain_verify()
    assert (result.intact, result.broken_position) == (False, 4)
    assert result.reason == (
        "the chain ends at event 3 but the chain head records event 5: "
        "events were removed from the end"
    )


def test_removed_tail_with_rewound_head_is_detected_by_the_anchor(anchor_file):
    events = _five_events()
    call_command("audit_anchor", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert json.loads(anchor_file.read_text().splitlines()[-1])["position"] == 5
    # the tail goes, and the head row is rewound to look consistent
    tamper("DELETE FROM audit_auditevent WHERE position > %s", (3,))
    AuditChainHead.objects.update(position=3, hash=events[2].hash)
    result = chain_verify()
    assert result.intact is False
    assert result.broken_position == 4
    assert "records event 5 but the chain ends at event 3" in result.reason
    with pytest.raises(CommandError, match="broken at position 4"):
        call_command("audit_verify")


def test_same_truncation_without_anchor_goes_unnoticed(anchor_file):
    # Why anchors exist: the head row alone cannot prove the tail.
    events = _five_events()
    tamper("DELETE FROM audit_auditevent WHERE position > %s", (3,))
    AuditChainHead.objects.update(position=3, hash=events[2].hash)
    assert chain_verify().intact is True


def test_rewritten_chain_does_not_match_the_anchor(anchor_file):
    _five_events()
    anchor_write()
    # a rewrite of the last event with a valid hash: only the anchor knows better
    target = AuditEvent.objects.get(position=5)
    target.actor_label = "mallory"
    fields = {f.attname: getattr(target, f.attname) for f in AuditEvent._meta.concrete_fields}
    forged = event_hash(fields)
    tamper(
        "UPDATE audit_auditevent SET actor_label = 'mallory', hash = %s WHERE position = 5",
        (forged,),
    )
    AuditChainHead.objects.update(hash=forged)
    result = chain_verify()
    assert (result.intact, result.broken_position) == (False, 5)
    assert "does not have the hash recorded by the anchor" in result.reason


def test_anchor_command_appends_the_head(anchor_file):
    from io import StringIO

    events = _five_events()
    out = StringIO()
    call_command("audit_anchor", stdout=out)
    record(AuditAction.LOGOUT)
    call_command("audit_anchor", stdout=out)
    lines = [json.loads(line) for line in anchor_file.read_text().splitlines()]
    assert [(a["position"], a["hash"]) for a in lines] == [
        (5, events[-1].hash),
        (6, AuditEvent.objects.get(position=6).hash),
    ]
    assert out.getvalue().splitlines()[0] == f"anchored position 5, head {events[-1].hash}"
    assert _verify_output().splitlines()[1].startswith("anchor: contains the anchor of ")


def test_unreadable_anchor_file_is_reported(anchor_file):
    _five_events()
    anchor_file.write_text("not json\n")
    result = chain_verify()
    assert result.intact is False
    assert result.summary() == (
        f"cannot confirm the chain: The last line of the anchor file {anchor_file} is not an anchor"
    )


def test_anchor_task_writes_an_anchor(anchor_file):
    from apps.audit.tasks import anchor

    _five_events()
    assert anchor.name == "audit.anchor"
    result = anchor.apply().get()
    assert result["position"] == 5
    assert json.loads(anchor_file.read_text())["position"] == 5
