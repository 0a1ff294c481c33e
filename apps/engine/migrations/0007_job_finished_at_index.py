"""An index on the jobs' finish time, for the report facts' sweep (decision 017), which writes the
facts of the jobs finished in the last minutes in one batch instead of one statement per engine
step. Built CONCURRENTLY on PostgreSQL (no write lock on the jobs while it builds)."""

from django.db import migrations, models

INDEX = models.Index(fields=["finished_at"], name="job_finished_idx")


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS job_finished_idx ON engine_job (finished_at)"
        )
    else:
        schema_editor.add_index(apps.get_model("engine", "Job"), INDEX)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS job_finished_idx")
    else:
        schema_editor.remove_index(apps.get_model("engine", "Job"), INDEX)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("engine", "0006_instance_variables_gin")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name="job", index=INDEX)],
            database_operations=[migrations.RunPython(create, drop)],
        )
    ]
