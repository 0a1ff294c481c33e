"""The database itself refuses to change or remove audit events."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from apps.audit.actions import AuditAction
from apps.audit.models import AuditChainHead, AuditEvent
from apps.audit.services import record


def _attempt(sql: str, params: tuple = ()) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.django_db
def test_direct_update_is_refused():
    event = record(AuditAction.LOGIN, data={"who": "alice"})
    with pytest.raises(IntegrityError, match="append-only"):
        _attempt(
            "UPDATE audit_auditevent SET action = 'auth.logout' WHERE position = %s", (event.pk,)
        )
    assert AuditEvent.objects.get().action == "auth.login"


@pytest.mark.django_db
def test_direct_delete_is_refused():
    record(AuditAction.LOGIN)
    with pytest.raises(IntegrityError, match="append-only"):
        _attempt("DELETE FROM audit_auditevent")
    assert AuditEvent.objects.count() == 1


@pytest.mark.django_db
def test_orm_update_and_delete_are_refused():
    record(AuditAction.LOGIN)
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEvent.objects.update(actor_label="mallory")
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEvent.objects.all().delete()
    assert list(AuditEvent.objects.values_list("actor_label", flat=True)) == ["flowgate"]


@pytest.mark.django_db
@pytest.mark.postgres_only
def test_truncate_is_refused_on_postgresql():
    record(AuditAction.LOGIN)
    with pytest.raises(IntegrityError, match="append-only: TRUNCATE"):
        _attempt("TRUNCATE audit_auditevent")
    assert AuditEvent.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.postgres_only
def test_replica_role_does_not_switch_the_guard_off():
    record(AuditAction.LOGIN)
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute("DELETE FROM audit_auditevent")
    assert AuditEvent.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.postgres_only
def test_triggers_are_enabled_always():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname, tgenabled FROM pg_trigger "
            "WHERE tgrelid = 'audit_auditevent'::regclass AND NOT tgisinternal ORDER BY tgname"
        )
        rows = cursor.fetchall()
    assert rows == [
        ("audit_auditevent_no_delete", "A"),
        ("audit_auditevent_no_truncate", "A"),
        ("audit_auditevent_no_update", "A"),
    ]


@pytest.mark.django_db
def test_chain_head_stays_updatable():
    record(AuditAction.LOGIN)
    assert AuditChainHead.objects.update(position=1) == 1


@pytest.mark.django_db(transaction=True)
def test_committed_events_are_flushed_between_transactional_tests():
    # The flush after this test must be able to empty the table (see tests/audit/support.py).
    record(AuditAction.LOGIN)
    assert AuditEvent.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_chain_restarts_after_flush():
    event = record(AuditAction.LOGOUT)
    assert event.position == 1
