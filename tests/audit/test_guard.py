"""The database itself refuses to change or remove audit events and chain links."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from apps.audit.actions import AuditAction
from apps.audit.models import AuditChainHead, AuditEvent, AuditLink, AuditPending
from apps.audit.services import chain_link_pending, record

TABLES = ["audit_auditevent", "audit_auditlink"]


def _attempt(sql: str, params: tuple = ()) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.fixture
def chained():
    event = record(AuditAction.LOGIN, data={"who": "alice"})
    chain_link_pending()
    return event


@pytest.mark.django_db
def test_direct_update_is_refused(chained):
    with pytest.raises(IntegrityError, match="audit_auditevent is append-only: UPDATE refused"):
        _attempt(
            "UPDATE audit_auditevent SET action = 'auth.logout' WHERE position = %s",
            (chained.pk,),
        )
    with pytest.raises(IntegrityError, match="audit_auditlink is append-only: UPDATE refused"):
        _attempt("UPDATE audit_auditlink SET hash = 'x'")
    assert AuditEvent.objects.get().action == "auth.login"
    assert len(AuditLink.objects.get().hash) == 64


@pytest.mark.django_db
@pytest.mark.parametrize("table", TABLES)
def test_direct_delete_is_refused(chained, table):
    with pytest.raises(IntegrityError, match=f"{table} is append-only: DELETE refused"):
        _attempt(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
    assert (AuditEvent.objects.count(), AuditLink.objects.count()) == (1, 1)


@pytest.mark.django_db
def test_orm_update_and_delete_are_refused(chained):
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEvent.objects.update(actor_label="mallory")
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEvent.objects.all().delete()
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditLink.objects.all().delete()
    assert list(AuditEvent.objects.values_list("actor_label", flat=True)) == ["flowgate"]
    assert AuditLink.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.postgres_only
@pytest.mark.parametrize("table", TABLES)
def test_truncate_is_refused_on_postgresql(chained, table):
    with pytest.raises(IntegrityError, match=f"{table} is append-only: TRUNCATE refused"):
        _attempt(f"TRUNCATE {table}")
    assert (AuditEvent.objects.count(), AuditLink.objects.count()) == (1, 1)


@pytest.mark.django_db
@pytest.mark.postgres_only
def test_replica_role_does_not_switch_the_guard_off(chained):
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
            "SELECT tgrelid::regclass::text, tgname, tgenabled FROM pg_trigger "
            "WHERE tgrelid IN ('audit_auditevent'::regclass, 'audit_auditlink'::regclass) "
            "AND NOT tgisinternal ORDER BY 1, 2"
        )
        rows = cursor.fetchall()
    assert rows == [
        ("audit_auditevent", "audit_auditevent_enqueue", "A"),
        *[
            (table, f"{table}_{name}", "A")
            for table in TABLES
            for name in ("no_delete", "no_truncate", "no_update")
        ],
    ]


@pytest.mark.django_db
def test_every_inserted_event_is_queued_by_the_database():
    # even one that bypasses record() cannot stay out of the linker's queue
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(time=timezone.now(), actor_kind="system", action="auth.login")
            for _ in range(3)
        ]
    )
    assert AuditPending.objects.count() == 3
    # ... and the linker takes them off the queue without chaining them (no writer MAC): only
    # its own audit.event_refused record is linked
    assert chain_link_pending() == 1
    assert AuditPending.objects.count() == 0
    assert list(AuditEvent.objects.filter(link__isnull=False).values_list("action", flat=True)) == [
        "audit.event_refused"
    ]


@pytest.mark.django_db
def test_chain_head_stays_updatable(chained):
    assert AuditChainHead.objects.update(position=1) == 1


@pytest.mark.django_db(transaction=True)
def test_committed_events_are_flushed_between_transactional_tests():
    # The flush after this test must be able to empty the tables (see tests/audit/support.py).
    record(AuditAction.LOGIN)
    chain_link_pending()
    assert AuditLink.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_chain_restarts_after_flush():
    event = record(AuditAction.LOGOUT)
    chain_link_pending()
    assert AuditLink.objects.get(event=event).seq == 1
