"""A GIN index on the instance variables (PostgreSQL only) for the operations console's search
by a variable's value (``variables @> '{"name": value}'``, apps/reports/console.py; decision 017).
SQLite has no such index; there the search scans, with the same result."""

from django.db import migrations

CREATE = (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS instance_variables_gin "
    "ON engine_processinstance USING gin (variables jsonb_path_ops)"
)
DROP = "DROP INDEX CONCURRENTLY IF EXISTS instance_variables_gin"


def _on_postgres(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    atomic = False  # CONCURRENTLY: no write lock on the instances while it builds

    dependencies = [("engine", "0005_job_started_at")]

    operations = [migrations.RunPython(_on_postgres(CREATE), _on_postgres(DROP))]
