"""manage.py retention_purge [--dry-run] [--batch-size N] [--max-batches N] [--check ID ...]"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from apps.retention.selectors import archive_check
from apps.retention.services import retention_purge


class Command(BaseCommand):
    help = (
        "Archive finished instances past their retention period to storage and purge their rows "
        "(the audit trail stays whole); or check archives against the audit chain (--check)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Only count what is due")
        parser.add_argument("--batch-size", type=int, default=None)
        parser.add_argument("--max-batches", type=int, default=None)
        parser.add_argument(
            "--check", type=int, nargs="+", metavar="ID", help="Check these instances' archives"
        )

    def handle(self, *args, **options):
        if options["check"]:
            bad = 0
            for instance_id in options["check"]:
                result = archive_check(instance_id)
                bad += not result["ok"]
                state = "ok" if result["ok"] else f"FAILED ({result['reason']})"
                self.stdout.write(f"instance {instance_id}: archive {state}")
            if bad:
                raise CommandError(f"{bad} archive(s) do not match the audit chain.")
            return
        for name in ("batch_size", "max_batches"):
            if options[name] is not None and options[name] < 1:
                raise CommandError(f"--{name.replace('_', '-')} must be at least 1.")
        result = retention_purge(
            dry_run=options["dry_run"],
            batch_size=options["batch_size"],
            max_batches=options["max_batches"],
        )
        if options["dry_run"]:
            self.stdout.write(f"{result['due']} finished instance(s) are due for purging.")
        else:
            self.stdout.write(
                f"Archived and purged {result['purged']} instance(s) in {result['batches']} batch(es)."
            )
