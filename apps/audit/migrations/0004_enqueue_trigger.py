"""Queue every new event for the linker in the database (AFTER INSERT trigger), so record()
needs one INSERT and no event can be inserted without being queued."""

from django.db import migrations

from apps.audit.guard import install_enqueue_trigger, remove_enqueue_trigger


def forwards(apps, schema_editor):
    install_enqueue_trigger(schema_editor.connection)


def backwards(apps, schema_editor):
    remove_enqueue_trigger(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_chain_links")]

    operations = [migrations.RunPython(forwards, backwards)]
