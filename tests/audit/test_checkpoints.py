"""Archived events leave the audit table only under a signed checkpoint (decision 038); the
chain still verifies, says how many events were archived, and catches a tampered checkpoint, an
event deleted outside a purge and a removed permit's abuse."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction

from apps.audit.actions import AuditAction
from apps.audit.chain import EMPTY_DIGEST, archived_digest_add, format_time
from apps.audit.checkpoint_selectors import archived_events_check
from apps.audit.checkpoints import audit_archived_remove
from apps.audit.models import AuditCheckpoint, AuditEvent, AuditLink, AuditRemovalPermit
from apps.audit.services import chain_link_pending, record
from apps.audit.verification import chain_verify
from apps.common.actors import Actor
from tests.audit.support import tamper

pytestmark = pytest.mark.django_db
RETENTION = Actor.system("retention")


def _events(instance_id: int, n: int = 3) -> list[int]:
    return [
        record(AuditAction.TASK_CLAIMED, instance_id=instance_id, task_id=k, data={"k": k}).pk
        for k in range(n)
    ]


def _archived_lines(positions: list[int]) -> list[dict]:
    """Archive lines of these events, as retention writes them."""
    rows = list(
        AuditEvent.objects.filter(position__in=positions)
        .order_by("position")
        .values(
            "position", "time", "actor_kind", "actor_id", "actor_label", "on_behalf_of",
            "action", "process_key", "version_id", "instance_id", "task_id", "job_id",
            "before", "after", "data", "request_id", "client_address", "link__seq",
        )
    )  # fmt: skip
    for row in rows:
        row["time"] = format_time(row["time"])
    return rows


@pytest.fixture
def archived():
    """Instances 7 and 8 archived and their events removed; instance 9 untouched."""
    gone = _events(7) + _events(8, 2)
    kept = _events(9)
    record(AuditAction.SETTINGS_CHANGED, instance_id=7, data={"setting": "legal_hold"})
    chain_link_pending()
    lines = _archived_lines(gone)
    with transaction.atomic():
        checkpoint = audit_archived_remove(instance_ids=[8, 7], actor=RETENTION)
    return checkpoint, gone, kept, lines


def test_archived_events_are_removed_under_a_signed_checkpoint(archived):
    checkpoint, gone, kept, _lines = archived
    assert not AuditEvent.objects.filter(position__in=gone).exists()
    assert AuditEvent.objects.filter(position__in=kept).count() == 3
    # governance events naming the instance stay
    assert AuditEvent.objects.filter(instance_id=7, action="admin.settings_changed").exists()
    # the links stay: the chain runs through them
    assert AuditLink.objects.filter(event_id__in=gone).count() == 5
    seqs = sorted(AuditLink.objects.filter(event_id__in=gone).values_list("seq", flat=True))
    assert (checkpoint.removed, checkpoint.archived_total) == (5, 5)
    assert checkpoint.instance_ids == [7, 8]
    assert checkpoint.archived_digest == archived_digest_add(EMPTY_DIGEST, seqs)
    assert checkpoint.up_to_seq == 9  # 8 events of the three instances, then the settings one
    assert checkpoint.up_to_hash == AuditLink.objects.get(seq=checkpoint.up_to_seq).hash
    assert not AuditRemovalPermit.objects.exists()
    run = AuditEvent.objects.get(action="audit.events_archived")
    assert run.actor_id == "retention"
    assert run.data["checkpoint"] == checkpoint.pk
    assert (run.data["removed"], run.data["archived_total"]) == (5, 5)


def test_the_chain_verifies_and_says_how_many_events_were_archived(archived):
    chain_link_pending()
    result = chain_verify()
    assert result.intact, result.reason
    assert (result.archived, result.checkpoints) == (5, 1)
    out = StringIO()
    call_command("audit_verify", stdout=out)
    assert out.getvalue().startswith(
        f"intact, {result.events} events (5 archived, under 1 checkpoint), head "
    )


def test_a_second_purge_extends_the_running_totals(archived):
    _events(10, 4)
    chain_link_pending()
    with transaction.atomic():
        second = audit_archived_remove(instance_ids=[10], actor=RETENTION)
    assert (second.removed, second.archived_total) == (4, 9)
    chain_link_pending()
    result = chain_verify()
    assert result.intact and (result.archived, result.checkpoints) == (9, 2)


def test_the_archive_is_checked_against_the_links_that_stayed(archived):
    _checkpoint, _gone, _kept, lines = archived
    assert archived_events_check(lines) == []
    lines[1]["data"] = {"k": 99}
    assert archived_events_check(lines) == [
        f"event {lines[1]['position']} does not match chain link {lines[1]['link__seq']}"
    ]


def test_outside_a_purge_the_table_still_refuses_delete(archived):
    [kept] = AuditEvent.objects.filter(instance_id=9).values_list("position", flat=True)[:1]
    with pytest.raises(IntegrityError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM audit_auditevent WHERE position = %s", [kept])


def test_a_permit_covers_only_its_instance_and_the_checkpointed_links():
    _events(11)
    chain_link_pending()
    with transaction.atomic():
        checkpoint = audit_archived_remove(instance_ids=[11], actor=RETENTION)
    late = _events(12, 1)[0]  # chained after the checkpoint
    other = _events(13, 1)[0]
    chain_link_pending()
    for position, instance in ((late, 12), (other, 13)):
        with pytest.raises(IntegrityError, match="append-only"):
            with transaction.atomic():
                AuditRemovalPermit.objects.create(instance_id=12, checkpoint=checkpoint)
                with connection.cursor() as cursor:
                    cursor.execute("DELETE FROM audit_auditevent WHERE position = %s", [position])
        assert AuditEvent.objects.filter(position=position, instance_id=instance).exists()


def test_one_refused_event_refuses_the_whole_delete():
    """PostgreSQL checks the DELETE once over all its rows (decision 038, addendum): a permitted
    event in the same statement as a refused one does not go either."""
    permitted = _events(14, 2)
    other = _events(15, 1)[0]
    _events(16, 1)
    chain_link_pending()
    with transaction.atomic():  # a checkpoint over the head: it covers 14's and 15's links
        checkpoint = audit_archived_remove(instance_ids=[16], actor=RETENTION)
    unlinked = _events(14, 1)[0]  # not chained yet: no checkpoint covers it
    for refused in (unlinked, other):
        with pytest.raises(IntegrityError, match="append-only"):
            with transaction.atomic():
                AuditRemovalPermit.objects.create(instance_id=14, checkpoint=checkpoint)
                with connection.cursor() as cursor:
                    cursor.execute(
                        "DELETE FROM audit_auditevent WHERE position IN (%s, %s, %s)",
                        [*permitted, refused],
                    )
        assert AuditEvent.objects.filter(position__in=[*permitted, refused]).count() == 3
    with transaction.atomic():  # the permitted ones alone do go
        AuditRemovalPermit.objects.create(instance_id=14, checkpoint=checkpoint)
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM audit_auditevent WHERE position IN (%s, %s)", permitted)
        AuditRemovalPermit.objects.filter(instance_id=14).delete()
    assert not AuditEvent.objects.filter(position__in=permitted).exists()


@pytest.mark.django_db(transaction=True)
def test_the_removal_needs_the_purge_transaction():
    with pytest.raises(RuntimeError, match="inside the purge"):
        audit_archived_remove(instance_ids=[1], actor=RETENTION)


def test_a_tampered_checkpoint_is_detected(archived):
    checkpoint = archived[0]
    tamper("UPDATE audit_auditcheckpoint SET archived_total = 4, removed = 4 WHERE id = %s",
           (checkpoint.pk,))  # fmt: skip
    result = chain_verify()
    assert not result.intact
    assert result.broken_position == checkpoint.up_to_seq
    assert result.reason == (
        f"checkpoint {checkpoint.pk} was not written by Flowgate or was altered: its MAC does not "
        "match its content"
    )
    with pytest.raises(CommandError, match="was not written by Flowgate or was altered"):
        call_command("audit_verify", stdout=StringIO())


def test_a_checkpoint_made_up_by_sql_is_detected(archived):
    checkpoint = archived[0]
    tamper(
        "INSERT INTO audit_auditcheckpoint (time, up_to_seq, up_to_hash, removed, archived_total, "
        "archived_digest, instance_ids, mac) SELECT time, up_to_seq, up_to_hash, 1, 6, "
        "archived_digest, instance_ids, 'nokey.00' FROM audit_auditcheckpoint WHERE id = %s",
        (checkpoint.pk,),
    )
    result = chain_verify()
    assert not result.intact
    assert "which is not in FLOWGATE_AUDIT_KEYS" in result.reason


def test_an_event_deleted_inside_the_checkpointed_prefix_is_a_gap(archived):
    kept = archived[2]
    tamper("DELETE FROM audit_auditevent WHERE position = %s", (kept[0],))
    result = chain_verify()
    assert not result.intact
    assert result.reason == (
        "6 event(s) are missing from links covered by checkpoints, but the checkpoints archived "
        "5: events were deleted outside a purge (or archived ones put back)"
    )


def test_an_event_deleted_after_the_checkpoint_is_a_gap(archived):
    late = _events(14, 1)[0]
    chain_link_pending()
    seq = AuditLink.objects.get(event_id=late).seq
    tamper("DELETE FROM audit_auditevent WHERE position = %s", (late,))
    result = chain_verify()
    assert (result.intact, result.broken_position) == (False, seq)
    assert result.reason == (
        f"event {late} of this link is missing: it was deleted (no checkpoint covers this link)"
    )


def test_a_deleted_checkpoint_leaves_an_uncovered_gap(archived):
    tamper("DELETE FROM audit_auditcheckpoint")
    result = chain_verify()
    assert not result.intact and "was deleted" in result.reason


def test_a_rewritten_prefix_does_not_match_the_checkpoint_hash(archived):
    checkpoint = archived[0]
    tamper(
        "UPDATE audit_auditlink SET hash = %s WHERE seq = %s",
        ("f" * 64, checkpoint.up_to_seq),
    )
    result = chain_verify()
    assert not result.intact
    assert result.broken_position == checkpoint.up_to_seq


def test_a_leftover_permit_is_reported(archived):
    AuditRemovalPermit.objects.create(instance_id=9, checkpoint_id=archived[0].pk)
    result = chain_verify()
    assert not result.intact and "removal permits" in result.reason


def test_verification_can_start_from_the_latest_checkpoint(archived):
    checkpoint = archived[0]
    late = _events(15, 2)
    chain_link_pending()
    result = chain_verify(from_checkpoint=True)
    assert result.intact, result.reason
    assert (result.checked_from, result.archived) == (checkpoint.up_to_seq, 5)
    assert result.summary().endswith(
        f"(checked from the signed checkpoint at link {checkpoint.up_to_seq})"
    )
    # what comes after the checkpoint is checked as fully as ever
    tamper("DELETE FROM audit_auditevent WHERE position = %s", (late[1],))
    assert "no checkpoint covers this link" in chain_verify(from_checkpoint=True).reason


def test_a_full_verification_can_be_checkpointed(archived):
    _events(16, 2)
    out = StringIO()
    call_command("audit_verify", "--checkpoint", stdout=out)
    newest = AuditCheckpoint.objects.order_by("-id").first()
    assert out.getvalue().splitlines()[-1] == f"checkpoint {newest.pk} at link {newest.up_to_seq}"
    assert (newest.removed, newest.archived_total, newest.instance_ids) == (0, 5, [])
    assert newest.archived_digest == archived[0].archived_digest
    result = chain_verify(from_checkpoint=True)
    assert result.intact and result.checked_from == newest.up_to_seq
    assert chain_verify().intact  # and the full run accepts the new checkpoint
