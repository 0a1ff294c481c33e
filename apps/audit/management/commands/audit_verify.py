from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.audit.selectors import chain_verify


class Command(BaseCommand):
    help = (
        "Recompute the audit hash chain and report 'intact, N events, head H' or the first broken "
        "link (exit status 1). Also checks the chain against the latest anchor."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--anchor-file",
            type=Path,
            default=None,
            help="Anchor file to check against (default: settings.AUDIT_ANCHOR_PATH).",
        )

    def handle(self, *args, **options):
        result = chain_verify(anchor_file=options["anchor_file"])
        if not result.intact:
            raise CommandError(result.summary())
        self.stdout.write(result.summary())
        self.stdout.write(f"anchor: {result.anchor_note}")
