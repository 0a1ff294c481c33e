"""SQL that makes the audit tables append-only, per database vendor.

Used by migrations 0002 (events), 0003 (chain links), 0004 (the linker's queue trigger) and 0005
(where writer MACs start), and
by the test-suite helper that empties the database between transactional tests. Changing what
gets installed needs a new migration. On SQLite, a migration that makes Django rebuild one of
these tables (most field changes) drops its triggers: such a migration must call the install
functions again afterwards, as 0003 does.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

EVENT_TABLE = "audit_auditevent"
LINK_TABLE = "audit_auditlink"
MAC_START_TABLE = "audit_auditmacstart"
TABLES = (EVENT_TABLE, LINK_TABLE, MAC_START_TABLE)
TABLE = EVENT_TABLE  # kept for migration 0002
PG_FUNCTION = "audit_auditevent_refuse_change"


def _triggers(table: str) -> tuple[tuple[str, str, str], ...]:
    return (
        (f"{table}_no_update", "BEFORE UPDATE", "FOR EACH ROW"),
        (f"{table}_no_delete", "BEFORE DELETE", "FOR EACH ROW"),
        (f"{table}_no_truncate", "BEFORE TRUNCATE", "FOR EACH STATEMENT"),
    )


def _pg_install_sql(tables: Iterable[str]) -> list[str]:
    statements = [
        f"""
        CREATE OR REPLACE FUNCTION {PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
                USING ERRCODE = 'restrict_violation',
                      HINT = 'Audit events can only be added, through apps.audit.services.record().';
        END;
        $$;
        """
    ]
    for table in tables:
        for name, when, level in _triggers(table):
            statements.append(f"DROP TRIGGER IF EXISTS {name} ON {table};")
            statements.append(
                f"CREATE TRIGGER {name} {when} ON {table} {level} EXECUTE FUNCTION {PG_FUNCTION}();"
            )
            statements.append(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {name};")
    return statements


def _sqlite_install_sql(tables: Iterable[str]) -> list[str]:
    return [
        f"""
        CREATE TRIGGER IF NOT EXISTS {name} {when} ON {table}
        BEGIN
            SELECT RAISE(ABORT, '{table} is append-only: {when.split()[1]} refused');
        END;
        """
        for table in tables
        for name, when, _level in _triggers(table)
        if "TRUNCATE" not in when  # SQLite has no TRUNCATE; DELETE FROM is caught
    ]


def install_append_only_guard(connection: Any, tables: Iterable[str] = (EVENT_TABLE,)) -> None:
    tables = tuple(tables)
    if connection.vendor == "postgresql":
        statements = _pg_install_sql(tables)
    elif connection.vendor == "sqlite":
        statements = _sqlite_install_sql(tables)
    else:
        raise NotImplementedError(f"No append-only guard for database vendor {connection.vendor}")
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def remove_append_only_guard(
    connection: Any, tables: Iterable[str] = (EVENT_TABLE,), *, drop_function: bool = True
) -> None:
    with connection.cursor() as cursor:
        for table in tables:
            for name, _when, _level in _triggers(table):
                if connection.vendor == "postgresql":
                    cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table};")
                else:
                    cursor.execute(f"DROP TRIGGER IF EXISTS {name};")
        if connection.vendor == "postgresql" and drop_function:
            cursor.execute(f"DROP FUNCTION IF EXISTS {PG_FUNCTION}();")


# --- the linker's queue ---------------------------------------------------------------------------

ENQUEUE_TRIGGER = "audit_auditevent_enqueue"
PENDING_TABLE = "audit_auditpending"


def install_enqueue_trigger(connection: Any) -> None:
    """Every inserted event is queued for linking by the database itself (AFTER INSERT)."""
    if connection.vendor == "postgresql":
        statements = [
            f"""
            CREATE OR REPLACE FUNCTION {ENQUEUE_TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO {PENDING_TABLE} (event_id) SELECT position FROM new_events;
                RETURN NULL;
            END;
            $$;
            """,  # noqa: S608 - constant identifiers only
            f"DROP TRIGGER IF EXISTS {ENQUEUE_TRIGGER} ON {EVENT_TABLE};",
            f"CREATE TRIGGER {ENQUEUE_TRIGGER} AFTER INSERT ON {EVENT_TABLE} "
            f"REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT "
            f"EXECUTE FUNCTION {ENQUEUE_TRIGGER}();",
            f"ALTER TABLE {EVENT_TABLE} ENABLE ALWAYS TRIGGER {ENQUEUE_TRIGGER};",
        ]
    elif connection.vendor == "sqlite":
        statements = [
            f"""
            CREATE TRIGGER IF NOT EXISTS {ENQUEUE_TRIGGER} AFTER INSERT ON {EVENT_TABLE}
            BEGIN
                INSERT INTO {PENDING_TABLE} (event_id) VALUES (NEW.position);
            END;
            """  # noqa: S608 - constant identifiers only
        ]
    else:
        raise NotImplementedError(f"No enqueue trigger for database vendor {connection.vendor}")
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def remove_enqueue_trigger(connection: Any) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"DROP TRIGGER IF EXISTS {ENQUEUE_TRIGGER} ON {EVENT_TABLE};")
            cursor.execute(f"DROP FUNCTION IF EXISTS {ENQUEUE_TRIGGER}();")
        else:
            cursor.execute(f"DROP TRIGGER IF EXISTS {ENQUEUE_TRIGGER};")
