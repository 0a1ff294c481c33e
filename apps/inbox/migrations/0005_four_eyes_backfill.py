"""Four-eyes for open approvals created while fourEyes="requester" was read as "off".

Until session 6 the inbox read the attribute as a boolean, so the designer's and the demo
models' ``flowgate:fourEyes="requester"`` turned the rule off: open approval tasks of those
models carry no ``requested_by``, and neither the service check nor the database constraint
keeps their requester from approving them. This names the instance's starter on every open
approval task whose model does not turn the rule off explicitly (model_rules, as new tasks
are made). Completed tasks are history and stay as they are."""

from django.db import migrations

from apps.inbox.model_rules import rules_for_version


def backfill(apps, schema_editor):
    HumanTask = apps.get_model("inbox", "HumanTask")
    tasks = (
        HumanTask.objects.filter(status="open", is_approval=True, requested_by__isnull=True)
        .exclude(instance__started_by__isnull=True)
        .select_related("instance__version__definition")
    )
    for task in tasks.iterator(chunk_size=500):
        rules = rules_for_version(task.instance.version)
        if rules.task(task.activity_id).four_eyes:
            HumanTask.objects.filter(pk=task.pk, requested_by__isnull=True).update(
                requested_by_id=task.instance.started_by_id
            )


class Migration(migrations.Migration):
    dependencies = [
        ("engine", "0005_job_started_at"),
        ("inbox", "0004_task_at_risk_notified"),
        ("processes", "0004_process_draft"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
