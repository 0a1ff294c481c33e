"""Only record() can add an event: a row inserted by SQL carries no valid writer MAC, so the linker
refuses to chain it and audit_verify, the verify API and page, and the invariant checker flag it."""

from __future__ import annotations

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.test import override_settings
from django.utils import timezone

from apps.accounts.roles import Role
from apps.audit.actions import AuditAction
from apps.audit.chain import EVENT_FIELDS, event_hash
from apps.audit.keys import key_id
from apps.audit.models import AuditChainHead, AuditEvent, AuditLink, AuditMacStart
from apps.audit.services import chain_link_pending, record
from apps.audit.verification import chain_verify
from apps.common.actors import Actor
from apps.invariants.checks import run_checks
from tests.audit.support import tamper

pytestmark = pytest.mark.django_db

KEY_A = "a" * 20 + "-first-audit-key-0123456789"
KEY_B = "b" * 20 + "-second-audit-key-987654321"

INSERT_SQL = (
    "INSERT INTO audit_auditevent (time, actor_kind, actor_id, actor_label, on_behalf_of, "
    "action, process_key, request_id, client_address, data{mac_column}) VALUES "
    "(%s, 'user', '7', 'alice', '', 'task.approved', 'invoice', '', '', '{{}}'{mac_value})"
)


def _genuine(n: int = 2) -> list[AuditEvent]:
    for i in range(n):
        record(AuditAction.TASK_CLAIMED, actor=Actor.system("test"), task_id=i + 1)
    chain_link_pending()
    return list(AuditEvent.objects.order_by("position"))


def _sql_insert(mac: str | None = None) -> int:
    """An event added the way an intruder with SQL access would: a plain INSERT."""
    last = AuditEvent.objects.order_by("-position").first()
    sql = INSERT_SQL.format(
        mac_column=", mac" if mac is not None else "",
        mac_value=", %s" if mac is not None else "",
    )
    params = [last.time] + ([mac] if mac is not None else [])
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    return AuditEvent.objects.order_by("-position").values_list("position", flat=True).first()


def test_record_signs_every_event_with_the_newest_key():
    with override_settings(FLOWGATE_AUDIT_KEYS=[KEY_A, KEY_B]):
        event = record(AuditAction.LOGIN)
    stored = AuditEvent.objects.get(pk=event.pk)
    key, nonce, digest = stored.mac.split(".")
    assert key == key_id(KEY_A.encode())
    assert len(nonce) == 16 and len(digest) == 64


def test_event_inserted_by_sql_is_refused_by_the_linker_and_flagged_everywhere(client, make_user):
    genuine = _genuine()
    forged = _sql_insert()

    assert chain_link_pending() == 1  # only the linker's own audit.event_refused record
    assert not AuditLink.objects.filter(event_id=forged).exists()
    refusal = AuditEvent.objects.get(action=AuditAction.AUDIT_EVENT_REFUSED)
    assert refusal.data == {
        "count": 1,
        "events": [forged],
        "reasons": {str(forged): "it carries no writer MAC"},
    }

    expected = (
        f"not intact: 1 event(s) in the audit table were not written by Flowgate's audit writer "
        f"(event {forged}: it carries no writer MAC): events {forged}. They were inserted into the "
        "database directly; the linker refuses to chain them"
    )
    with pytest.raises(CommandError) as exc:
        call_command("audit_verify")
    assert str(exc.value) == expected
    result = chain_verify()
    assert (result.intact, result.forged, result.events) == (False, [forged], len(genuine) + 1)

    violations = run_checks(only=["audit_chain"]).violations
    assert [str(v) for v in violations] == [
        f"[audit_chain] the audit chain does not verify: {expected}"
    ]

    client.force_login(make_user(Role.AUDITOR, username="audra"))
    api = client.post("/api/v1/audit/verify/")
    assert api.status_code == 200
    assert (api.json()["intact"], api.json()["forged"]) == (False, [forged])
    page = client.post("/admin-reports/audit/verify/")
    assert page.status_code == 200
    assert f'<span data-testid="verify-forged">{forged}</span>' in page.content.decode()


def test_event_and_link_inserted_by_sql_with_a_correct_hash_are_flagged():
    genuine = _genuine()
    forged = _sql_insert()
    chain_link_pending()  # refuses it; its record is chained
    head = AuditChainHead.objects.get(pk=1)
    # the intruder also writes a link with the right hash and moves the head (all allowed by SQL)
    fields = AuditEvent.objects.filter(pk=forged).values(*EVENT_FIELDS).get()
    fields.update(seq=head.position + 1, prev_hash=head.hash)
    link_hash = event_hash(fields)
    AuditLink.objects.create(
        seq=head.position + 1, event_id=forged, prev_hash=head.hash, hash=link_hash
    )
    AuditChainHead.objects.filter(pk=1).update(position=head.position + 1, hash=link_hash)

    result = chain_verify()
    assert not result.intact
    assert result.summary() == (
        f"broken at position {head.position + 1}: event {forged} was not written by Flowgate's "
        "audit writer: it carries no writer MAC (a row inserted into the audit table directly, "
        "with its link)"
    )
    assert len(genuine) == 2


def test_a_copied_genuine_row_is_refused_by_the_database():
    _genuine(1)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        columns = ", ".join(name for name in (*EVENT_FIELDS[1:], "mac"))
        cursor.execute(
            f"INSERT INTO audit_auditevent ({columns}) SELECT {columns} FROM audit_auditevent"  # noqa: S608
        )


def test_a_made_up_mac_is_flagged():
    genuine = _genuine(1)
    forged = _sql_insert(mac=f"{genuine[0].mac.split('.')[0]}.0011223344556677.{'0' * 64}")
    chain_link_pending()
    result = chain_verify()
    assert result.forged == [forged]
    assert "its writer MAC does not match its content" in result.reason


def test_key_rotation_keeps_old_events_verifiable_and_a_dropped_key_flags_them():
    with override_settings(FLOWGATE_AUDIT_KEYS=[KEY_A]):
        old = record(AuditAction.LOGIN)
        chain_link_pending()
    with override_settings(FLOWGATE_AUDIT_KEYS=[KEY_B, KEY_A]):  # rotation: prepend
        new = record(AuditAction.LOGOUT)
        chain_link_pending()
        assert chain_verify().intact
    assert AuditEvent.objects.get(pk=new.pk).mac.startswith(key_id(KEY_B.encode()) + ".")
    with override_settings(FLOWGATE_AUDIT_KEYS=[KEY_B]):  # old key dropped: its event is flagged
        result = chain_verify()
    assert not result.intact
    assert result.reason == (
        f"event {old.pk} was not written by Flowgate's audit writer: its writer MAC names key "
        f"'{key_id(KEY_A.encode())}', which is not in FLOWGATE_AUDIT_KEYS (a row inserted into the "
        "audit table directly, with its link)"
    )


def test_events_from_before_writer_macs_are_chained_by_the_migration_and_stay_valid():
    migration = importlib.import_module("apps.audit.migrations.0005_writer_mac")
    tamper("DELETE FROM audit_auditmacstart")
    # three events written by the old code (no MAC), not linked yet when the upgrade runs
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(time=timezone.now(), actor_kind="system", action="auth.login")
            for _ in range(3)
        ]
    )
    migration.chain_legacy_events(apps, SimpleNamespace(connection=connection))
    assert AuditMacStart.objects.get(pk=1).legacy_up_to_seq == 3
    assert chain_verify().intact
    # later, an intruder's mac-less row gets no such pass, even when linked
    forged = _sql_insert()
    chain_link_pending()
    assert chain_verify().forged == [forged]
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditMacStart.objects.update(legacy_up_to_seq=10**6)
