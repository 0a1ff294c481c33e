from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.audit.selectors import chain_verify
from apps.audit.services import verification_run
from apps.common.actors import Actor


class Command(BaseCommand):
    help = (
        "Chain any events still waiting for their link, then recompute the audit hash chain and "
        "report 'intact, N events, head H' or the first broken link (exit status 1). Also checks "
        "the chain against the latest anchor."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--anchor-file",
            type=Path,
            default=None,
            help="Anchor file to check against (default: settings.AUDIT_ANCHOR_PATH).",
        )
        parser.add_argument(
            "--no-link",
            action="store_true",
            help="Only read: do not chain waiting events first (e.g. on a read replica).",
        )

    def handle(self, *args, **options):
        if options["no_link"]:  # read only: nothing is written, not even the result
            result = chain_verify(anchor_file=options["anchor_file"])
        else:  # the result is recorded (audit.verified): /metrics and the alert read it
            result = verification_run(
                actor=Actor.system("audit_verify"), anchor_file=options["anchor_file"]
            )
        if not result.intact:
            raise CommandError(result.summary())
        self.stdout.write(result.summary())
        self.stdout.write(f"anchor: {result.anchor_note}")
