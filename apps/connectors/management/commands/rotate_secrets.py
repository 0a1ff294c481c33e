from django.core.management.base import BaseCommand, CommandError

from apps.common.errors import FlowgateError
from apps.connectors.services import secrets_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt every connector secret with the newest key (first of FLOWGATE_SECRET_KEYS). "
        "Rotation: prepend a new key, run this, then remove the old key."
    )

    def handle(self, *args, **options):
        try:
            count = secrets_rotate()
        except FlowgateError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"Re-encrypted {count} secret(s) with the newest key.")
