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
CHECKPOINT_TABLE = "audit_auditcheckpoint"
PERMIT_TABLE = "audit_auditremovalpermit"
TABLES = (EVENT_TABLE, LINK_TABLE, MAC_START_TABLE, CHECKPOINT_TABLE)
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


def install_append_only_guard(
    connection: Any, tables: Iterable[str] = (EVENT_TABLE,), *, archived_rule: bool | None = None
) -> None:
    """``archived_rule``: the event table's DELETE trigger allows removing archived events under
    a checkpoint (decision 038); None = whenever the checkpoint table exists (migration 0006)."""
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
        if archived_rule is None:
            archived_rule = CHECKPOINT_TABLE in connection.introspection.table_names(cursor)
    if EVENT_TABLE in tables and archived_rule:
        install_archived_delete_rule(connection)


# --- the one DELETE the event table allows (migration 0006, decision 038) -------------------------

PG_DELETE_FUNCTION = "audit_auditevent_refuse_delete"
# An event may go only if a removal permit names its instance and the permit's checkpoint covers
# its chain link. Permits exist only inside the transaction of audit_archived_remove (it deletes
# them before it returns; other transactions never see an uncommitted row).
_PERMITTED = f"""
    OLD.instance_id IS NOT NULL AND EXISTS (
        SELECT 1 FROM {PERMIT_TABLE} p
        JOIN {CHECKPOINT_TABLE} c ON c.id = p.checkpoint_id
        JOIN {LINK_TABLE} l ON l.event_id = OLD.position
        WHERE p.instance_id = OLD.instance_id AND l.seq <= c.up_to_seq
    )
"""  # noqa: S608 - constant identifiers only


# PostgreSQL checks a purge's DELETE once per statement over all its rows (a transition table):
# the same rule as per row, as one anti-join instead of one plpgsql call and three index probes
# per event (the per-row check cost most of a purge batch; decision 038, addendum).
_ALL_PERMITTED = f"""
    NOT EXISTS (
        SELECT 1 FROM old_events o
        WHERE o.instance_id IS NULL OR NOT EXISTS (
            SELECT 1 FROM {PERMIT_TABLE} p
            JOIN {CHECKPOINT_TABLE} c ON c.id = p.checkpoint_id
            JOIN {LINK_TABLE} l ON l.event_id = o.position
            WHERE p.instance_id = o.instance_id AND l.seq <= c.up_to_seq
        )
    )
"""  # noqa: S608 - constant identifiers only


def install_archived_delete_rule(connection: Any, *, per_statement: bool = True) -> None:
    """Replace the event table's DELETE trigger by one that lets archived events of a purge go
    (and nothing else). PostgreSQL: checked per statement (an AFTER trigger over the deleted
    rows; a refused row aborts the statement); ``per_statement=False`` installs the per-row
    check of migration 0006 (that migration's state, for going back). SQLite: per row."""
    name = f"{EVENT_TABLE}_no_delete"
    if connection.vendor == "postgresql":
        if per_statement:
            check, when, passed = _ALL_PERMITTED, "AFTER DELETE", "RETURN NULL;"
            level = "REFERENCING OLD TABLE AS old_events FOR EACH STATEMENT"
        else:
            check, when, level, passed = _PERMITTED, "BEFORE DELETE", "FOR EACH ROW", "RETURN OLD;"
        statements = [
            f"DROP TRIGGER IF EXISTS {name} ON {EVENT_TABLE};",
            f"""
            CREATE OR REPLACE FUNCTION {PG_DELETE_FUNCTION}() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                IF {check} THEN
                    {passed}
                END IF;
                RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
                    USING ERRCODE = 'restrict_violation',
                          HINT = 'Only archived events of purged instances, under a checkpoint.';
            END;
            $$;
            """,
            f"CREATE TRIGGER {name} {when} ON {EVENT_TABLE} {level} "
            f"EXECUTE FUNCTION {PG_DELETE_FUNCTION}();",
            f"ALTER TABLE {EVENT_TABLE} ENABLE ALWAYS TRIGGER {name};",
        ]
    else:
        statements = [
            f"DROP TRIGGER IF EXISTS {name};",
            f"""
            CREATE TRIGGER {name} BEFORE DELETE ON {EVENT_TABLE}
            WHEN NOT ({_PERMITTED})
            BEGIN
                SELECT RAISE(ABORT, '{EVENT_TABLE} is append-only: DELETE refused');
            END;
            """,
        ]
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
