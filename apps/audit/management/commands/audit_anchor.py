from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand

from apps.audit.services import anchor_write


class Command(BaseCommand):
    help = "Append the current audit chain head (position, hash, time) to the anchor file."

    def add_arguments(self, parser):
        parser.add_argument(
            "--path",
            type=Path,
            default=None,
            help="Anchor file (JSON lines) to append to (default: settings.AUDIT_ANCHOR_PATH).",
        )

    def handle(self, *args, **options):
        anchor = anchor_write(path=options["path"])
        self.stdout.write(f"anchored position {anchor.position}, head {anchor.hash}")
