"""audit_verify finds every kind of tampering; audit_anchor makes tail truncation visible."""

from __future__ import annotations

import datetime as dt
import decimal
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.audit import verification
from apps.audit.actions import AuditAction
from apps.audit.chain import EVENT_FIELDS, GENESIS_HASH, event_hash
from apps.audit.models import AuditChainHead, AuditEvent, AuditLink, AuditPending
from apps.audit.services import anchor_write, chain_link_pending, record
from apps.audit.verification import chain_verify
from apps.common.actors import Actor
from tests.audit.support import tamper

pytestmark = pytest.mark.django_db


def _five_links() -> list[AuditLink]:
    for n in range(1, 6):
        record(AuditAction.TASK_CLAIMED, actor=Actor.system("test"), task_id=n, data={"n": n})
    chain_link_pending()
    return list(AuditLink.objects.select_related("event").order_by("seq"))


def _forged_hash(link: AuditLink, **changes) -> str:
    fields = {name: getattr(link.event, name) for name in EVENT_FIELDS}
    fields.update(seq=link.seq, prev_hash=link.prev_hash)
    fields.update(changes)
    return event_hash(fields)


def _verify_output() -> str:
    out = StringIO()
    call_command("audit_verify", stdout=out)
    return out.getvalue()


def test_empty_chain_is_intact():
    assert _verify_output().splitlines()[0] == f"intact, 0 events, head {GENESIS_HASH}"


def test_untouched_chain_is_intact():
    links = _five_links()
    assert _verify_output().splitlines() == [
        f"intact, 5 events, head {links[-1].hash}",
        "anchor: no anchor written yet",
    ]


def test_awkward_values_survive_the_database_round_trip():
    record(
        AuditAction.SETTINGS_CHANGED,
        before={"big": 1e16, "half": 0.5, "tiny": 1.5e-10, "nan": float("nan")},
        after={"nul": "a\x00b", "when": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)},
        data={"amount": decimal.Decimal("12.30"), "tags": ("x", "y"), 3: "int key"},
    )
    chain_link_pending()
    stored = AuditEvent.objects.get()
    assert stored.before == {"big": 10**16, "half": 0.5, "tiny": 1.5e-10, "nan": "nan"}
    assert stored.after == {"nul": "a\ufffdb", "when": "2026-01-02T03:04:05+00:00"}
    assert stored.data == {"amount": "12.30", "tags": ["x", "y"], "3": "int key"}
    assert chain_verify().summary() == f"intact, 1 events, head {AuditLink.objects.get().hash}"


def test_tampered_event_is_detected():
    links = _five_links()
    tamper(
        "UPDATE audit_auditevent SET actor_label = %s WHERE position = %s",
        ("mallory", links[2].event_id),
    )
    with pytest.raises(CommandError) as exc:
        call_command("audit_verify")
    assert str(exc.value) == (
        f"broken at position 3: event {links[2].event_id} does not match its hash: "
        "the event or link was altered"
    )


def test_tampered_event_with_recomputed_hash_fails_its_writer_mac():
    links = _five_links()
    forged = _forged_hash(links[2], data={"n": 99})
    tamper(
        "UPDATE audit_auditevent SET data = %s WHERE position = %s",
        (json.dumps({"n": 99}), links[2].event_id),
    )
    tamper("UPDATE audit_auditlink SET hash = %s WHERE seq = 3", (forged,))
    result = chain_verify()
    assert (result.intact, result.broken_position) == (False, 3)
    assert result.reason == (
        f"event {links[2].event_id} was not written by Flowgate's audit writer: its writer MAC "
        "does not match its content (a row inserted into the audit table directly, with its link)"
    )


def test_recomputed_link_hash_breaks_the_next_link():
    links = _five_links()
    forged = _forged_hash(links[2], prev_hash="f" * 64)
    tamper("UPDATE audit_auditlink SET hash = %s WHERE seq = 3", (forged,))
    result = chain_verify()
    assert (result.intact, result.broken_position) == (False, 3)
    assert result.reason == (
        f"event {links[2].event_id} does not match its hash: the event or link was altered"
    )
    tamper("UPDATE audit_auditlink SET prev_hash = %s WHERE seq = 3", ("f" * 64,))
    result = chain_verify()
    assert (result.intact, result.broken_position) == (False, 3)
    assert result.reason.startswith(f"prev_hash {'f' * 16}... does not match the hash of link 2")


def test_deleted_event_is_detected():
    links = _five_links()
    tamper("DELETE FROM audit_auditevent WHERE position = %s", (links[1].event_id,))
    with pytest.raises(CommandError) as exc:
        call_command("audit_verify")
    assert str(exc.value) == (
        f"broken at position 2: event {links[1].event_id} of this link is missing: it was deleted"
    )


def test_deleted_event_and_link_are_detected():
    links = _five_links()
    tamper("DELETE FROM audit_auditevent WHERE position = %s", (links[1].event_id,))
    tamper("DELETE FROM audit_auditlink WHERE seq = 2")
    assert chain_verify().summary() == (
        "broken at position 2: chain link(s) 2 missing (the next link is 3)"
    )


def test_swapped_pair_is_detected():
    links = _five_links()
    # the events of links 2 and 3 trade places in the chain
    for seq, event_id in ((2, -1), (3, links[1].event_id), (2, links[2].event_id)):
        tamper("UPDATE audit_auditlink SET event_id = %s WHERE seq = %s", (event_id, seq))
    assert list(AuditLink.objects.order_by("seq").values_list("event__task_id", flat=True)) == [
        1,
        3,
        2,
        4,
        5,
    ]
    result = chain_verify()
    assert (result.intact, result.broken_position) == (False, 2)
    assert "does not match its hash" in result.reason


def test_removed_tail_is_detected_by_the_chain_head():
    _five_links()
    tamper("DELETE FROM audit_auditlink WHERE seq > %s", (3,))
    result = chain_verify()
    assert (result.intact, result.broken_position) == (False, 4)
    assert result.reason == (
        "the chain ends at link 3 but the chain head records link 5: "
        "links were removed from the end"
    )


def _cut_tail_and_rewind_head(links: list[AuditLink]) -> None:
    for link in links[3:]:
        tamper("DELETE FROM audit_auditevent WHERE position = %s", (link.event_id,))
    tamper("DELETE FROM audit_auditlink WHERE seq > %s", (3,))
    AuditChainHead.objects.update(position=3, hash=links[2].hash)


def test_removed_tail_with_rewound_head_is_detected_by_the_anchor(anchor_file):
    links = _five_links()
    call_command("audit_anchor", stdout=StringIO())
    assert json.loads(anchor_file.read_text().splitlines()[-1])["position"] == 5
    _cut_tail_and_rewind_head(links)
    result = chain_verify()
    assert (result.intact, result.broken_position) == (False, 4)
    assert "records link 5 but the chain ends at link 3" in result.reason
    with pytest.raises(CommandError, match="broken at position 4"):
        call_command("audit_verify")


def test_same_truncation_without_anchor_goes_unnoticed():
    # Why anchors exist: the head row alone cannot prove the tail.
    _cut_tail_and_rewind_head(_five_links())
    assert chain_verify().intact is True


def test_rewritten_chain_does_not_match_the_anchor():
    links = _five_links()
    anchor_write()
    # the last two events swap places, with every hash recomputed (their writer MACs still hold)
    swapped_4 = _forged_hash(links[4], seq=4, prev_hash=links[3].prev_hash)
    swapped_5 = _forged_hash(links[3], seq=5, prev_hash=swapped_4)
    tamper("DELETE FROM audit_auditlink WHERE seq >= 4")
    tamper(
        "INSERT INTO audit_auditlink (seq, event_id, prev_hash, hash) VALUES "
        "(4, %s, %s, %s), (5, %s, %s, %s)",
        (links[4].event_id, links[3].prev_hash, swapped_4, links[3].event_id, swapped_4, swapped_5),
    )
    AuditChainHead.objects.update(hash=swapped_5)
    result = chain_verify()
    assert (result.intact, result.broken_position) == (False, 5)
    assert "does not have the hash recorded by the anchor" in result.reason


def test_event_left_out_of_the_chain_is_detected(monkeypatch):
    _five_links()
    orphan = record(AuditAction.LOGIN)
    AuditPending.objects.filter(event_id=orphan.pk).delete()  # the linker never sees it
    chain_link_pending()
    assert chain_verify().intact is True  # young: may still be waiting for its link
    monkeypatch.setattr(verification, "UNCHAINED_GRACE", dt.timedelta(0))
    result = chain_verify()
    assert (result.intact, result.broken_position) == (False, 6)
    assert result.reason.startswith(f"event {orphan.pk} is older than 0:00:00 but in no chain link")


def test_anchor_command_links_and_appends_the_head(anchor_file):
    links = _five_links()
    out = StringIO()
    call_command("audit_anchor", stdout=out)
    record(AuditAction.LOGOUT)  # not linked yet: the anchor command links it first
    call_command("audit_anchor", stdout=out)
    lines = [json.loads(line) for line in anchor_file.read_text().splitlines()]
    assert [(a["position"], a["hash"]) for a in lines] == [
        (5, links[-1].hash),
        (6, AuditLink.objects.get(seq=6).hash),
    ]
    assert out.getvalue().splitlines()[0] == f"anchored position 5, head {links[-1].hash}"
    assert _verify_output().splitlines()[1].startswith("anchor: contains the anchor of ")


def test_unreadable_anchor_file_is_reported(anchor_file):
    _five_links()
    anchor_file.write_text("not json\n")
    result = chain_verify()
    assert result.intact is False
    assert result.summary() == (
        f"cannot confirm the chain: The last line of the anchor file {anchor_file} is not an anchor"
    )


def test_periodic_tasks(anchor_file):
    from apps.audit.tasks import anchor, link

    for n in range(3):
        record(AuditAction.JOB_ATTEMPTED, job_id=n)
    assert (link.name, anchor.name) == ("audit.link", "audit.anchor")
    assert link.apply().get() == 3
    assert link.apply().get() == 0
    record(AuditAction.JOB_ATTEMPTED, job_id=9)
    assert anchor.apply().get()["position"] == 4
    assert json.loads(anchor_file.read_text())["position"] == 4
