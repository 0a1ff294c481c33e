"""PostgreSQL checks a purge's DELETE of archived events once per statement (decision 038,
addendum): the rule is unchanged (an event goes only when a removal permit names its instance and
the permit's checkpoint covers its chain link), but it is one anti-join over the statement's
deleted rows (an AFTER ... FOR EACH STATEMENT trigger with a transition table) instead of a
plpgsql call with three index probes per row. SQLite keeps its per-row trigger (nothing to do).
"""

from django.db import migrations

from apps.audit.guard import install_archived_delete_rule


def per_statement(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        install_archived_delete_rule(schema_editor.connection, per_statement=True)


def per_row(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        install_archived_delete_rule(schema_editor.connection, per_statement=False)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0007_event_trace_ids"),
    ]

    operations = [migrations.RunPython(per_statement, per_row)]
