from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from apps.reports.facts import task_facts_sync


class Command(BaseCommand):
    help = (
        "Write the report facts missing for completed tasks and finished jobs (rows written "
        "outside the services, e.g. by an import). Safe to run any number of times."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--hours",
            type=float,
            default=None,
            help="Only tasks/jobs finished in the last N hours (default: all of them)",
        )

    def handle(self, *args, **options):
        hours = options["hours"]
        since = None if hours is None else timezone.now() - timedelta(hours=hours)
        added = task_facts_sync(since=since)
        self.stdout.write(self.style.SUCCESS(f"Report facts: {added} added."))
