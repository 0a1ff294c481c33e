from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.audit.checkpoints import verified_checkpoint_write
from apps.audit.services import verification_run
from apps.audit.verification import chain_verify
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

        parser.add_argument(
            "--from-checkpoint",
            action="store_true",
            help="Start after the latest signed checkpoint instead of link 1 (fast; the prefix "
            "is taken on the checkpoint's word: run a full verification regularly).",
        )
        parser.add_argument(
            "--checkpoint",
            action="store_true",
            help="After an intact full verification, write a signed checkpoint at the verified "
            "head, so that the next --from-checkpoint run starts there.",
        )

    def handle(self, *args, **options):
        if options["checkpoint"] and options["from_checkpoint"]:
            raise CommandError("--checkpoint needs a full verification: drop --from-checkpoint.")
        if options["no_link"]:  # read only: nothing is written, not even the result
            result = chain_verify(
                anchor_file=options["anchor_file"], from_checkpoint=options["from_checkpoint"]
            )
        else:  # the result is recorded (audit.verified): /metrics and the alert read it
            result = verification_run(
                actor=Actor.system("audit_verify"),
                anchor_file=options["anchor_file"],
                from_checkpoint=options["from_checkpoint"],
            )
        if not result.intact:
            raise CommandError(result.summary())
        self.stdout.write(result.summary())
        self.stdout.write(f"anchor: {result.anchor_note}")
        if options["checkpoint"]:
            checkpoint = verified_checkpoint_write(result=result)
            self.stdout.write(f"checkpoint {checkpoint.pk} at link {checkpoint.up_to_seq}")
