from django.db import migrations, models

#: How test runs were marked before this field: by their business key (any requester could set it).
LEGACY_TEST_RUN_KEY = "designer test run"


def mark_test_runs(apps, schema_editor):
    instance = apps.get_model("engine", "ProcessInstance")
    instance.objects.filter(
        business_key=LEGACY_TEST_RUN_KEY, started_by__groups__name__in=["designer", "admin"]
    ).update(is_test_run=True)


class Migration(migrations.Migration):
    dependencies = [
        ("engine", "0007_job_finished_at_index"),
        ("accounts", "__first__"),
    ]

    operations = [
        migrations.AddField(
            model_name="processinstance",
            name="is_test_run",
            field=models.BooleanField(
                db_index=True,
                default=False,
                help_text="A designer's test run: no inbox tasks, no notifications, and left out "
                "of reports, SLOs, metrics and My requests (decision 024-test-runs-isolated)",
            ),
        ),
        migrations.RunPython(mark_test_runs, migrations.RunPython.noop),
    ]
