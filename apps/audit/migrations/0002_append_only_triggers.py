"""Make audit_auditevent append-only in the database itself.

PostgreSQL: BEFORE UPDATE / BEFORE DELETE row triggers and a BEFORE TRUNCATE statement trigger,
all ``ENABLE ALWAYS`` so that ``session_replication_role = replica`` does not switch them off.
SQLite: BEFORE UPDATE / BEFORE DELETE triggers (SQLite has no TRUNCATE; ``DELETE FROM`` is caught).
Both raise an integrity error (PostgreSQL SQLSTATE 23001 restrict_violation).
"""

from django.db import migrations

from apps.audit.guard import install_append_only_guard, remove_append_only_guard


def forwards(apps, schema_editor):
    install_append_only_guard(schema_editor.connection)


def backwards(apps, schema_editor):
    remove_append_only_guard(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
