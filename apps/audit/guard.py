"""SQL that makes the audit table append-only, per database vendor.

Used by migration 0002 (install / reverse). Kept in one place so the migration and the
test-suite helper that empties the database between transactional tests stay in step.
"""

from __future__ import annotations

from typing import Any

TABLE = "audit_auditevent"
PG_FUNCTION = "audit_auditevent_refuse_change"
PG_TRIGGERS = (
    ("audit_auditevent_no_update", "BEFORE UPDATE", "FOR EACH ROW"),
    ("audit_auditevent_no_delete", "BEFORE DELETE", "FOR EACH ROW"),
    ("audit_auditevent_no_truncate", "BEFORE TRUNCATE", "FOR EACH STATEMENT"),
)
SQLITE_TRIGGERS = (
    ("audit_auditevent_no_update", "BEFORE UPDATE"),
    ("audit_auditevent_no_delete", "BEFORE DELETE"),
)


def _pg_install_sql() -> list[str]:
    statements = [
        f"""
        CREATE OR REPLACE FUNCTION {PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '{TABLE} is append-only: % refused', TG_OP
                USING ERRCODE = 'restrict_violation',
                      HINT = 'Audit events can only be added, through apps.audit.services.record().';
        END;
        $$;
        """
    ]
    for name, when, level in PG_TRIGGERS:
        statements.append(f"DROP TRIGGER IF EXISTS {name} ON {TABLE};")
        statements.append(
            f"CREATE TRIGGER {name} {when} ON {TABLE} {level} EXECUTE FUNCTION {PG_FUNCTION}();"
        )
        statements.append(f"ALTER TABLE {TABLE} ENABLE ALWAYS TRIGGER {name};")
    return statements


def _sqlite_install_sql() -> list[str]:
    return [
        f"""
        CREATE TRIGGER IF NOT EXISTS {name} {when} ON {TABLE}
        BEGIN
            SELECT RAISE(ABORT, '{TABLE} is append-only: {when.split()[1]} refused');
        END;
        """
        for name, when in SQLITE_TRIGGERS
    ]


def install_append_only_guard(connection: Any) -> None:
    if connection.vendor == "postgresql":
        statements = _pg_install_sql()
    elif connection.vendor == "sqlite":
        statements = _sqlite_install_sql()
    else:
        raise NotImplementedError(f"No append-only guard for database vendor {connection.vendor}")
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def remove_append_only_guard(connection: Any) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for name, _when, _level in PG_TRIGGERS:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {TABLE};")
            cursor.execute(f"DROP FUNCTION IF EXISTS {PG_FUNCTION}();")
        elif connection.vendor == "sqlite":
            for name, _when in SQLITE_TRIGGERS:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name};")
