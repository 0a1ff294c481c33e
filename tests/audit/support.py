"""Test-suite support for the append-only audit table.

Transactional tests (``transaction=True``) empty every table afterwards with Django's flush
(TRUNCATE on PostgreSQL, DELETE on SQLite), which the audit table's triggers refuse. Only during
the test session, flush lifts the guard for its own statement and puts it back in the same
transaction. Application code has no such path.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import transaction
from django.db.backends.base.operations import BaseDatabaseOperations

from apps.audit.guard import (
    TABLES,
    install_append_only_guard,
    install_enqueue_trigger,
    remove_append_only_guard,
)
from apps.audit.models import AuditEvent, AuditLink


@contextmanager
def audit_table_flushable() -> Iterator[None]:
    original = BaseDatabaseOperations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        if not any(table in sql for sql in sql_list for table in TABLES):
            return original(self, sql_list)
        with transaction.atomic(using=self.connection.alias):
            remove_append_only_guard(self.connection, TABLES)
            original(self, sql_list)
            install_append_only_guard(self.connection, TABLES)
        return None

    BaseDatabaseOperations.execute_sql_flush = execute_sql_flush
    try:
        yield
    finally:
        BaseDatabaseOperations.execute_sql_flush = original


def tamper(sql: str, params: tuple = ()) -> None:
    """Run ``sql`` against the audit tables with their guard lifted, like a superuser would.

    PostgreSQL: ``ALTER TABLE ... DISABLE TRIGGER ALL`` (needs a superuser or the table owner),
    then the triggers are switched back on (``ENABLE ALWAYS``). SQLite: drop and recreate them.
    Runs in the current transaction, so the test's rollback undoes it.
    """
    from django.db import connection

    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for table in TABLES:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER ALL")
            cursor.execute(sql, params)
            for table in TABLES:
                cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER ALL")
            install_append_only_guard(connection, TABLES)  # back to ENABLE ALWAYS
            install_enqueue_trigger(connection)
        else:
            remove_append_only_guard(connection, TABLES)
            cursor.execute(sql, params)
            install_append_only_guard(connection, TABLES)


def chain_hash(event: AuditEvent) -> str:
    """The hash of ``event``'s link in the chain."""
    return AuditLink.objects.get(event=event).hash


def newest_event() -> AuditEvent | None:
    return AuditEvent.objects.order_by("-position").first()


def last_position() -> int:
    return AuditEvent.objects.order_by("-position").values_list("position", flat=True).first() or 0
