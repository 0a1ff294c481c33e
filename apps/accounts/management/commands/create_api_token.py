from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from apps.accounts.models import User
from apps.accounts.services import api_token_create
from apps.common.errors import FlowgateError

MAX_DAYS = 3650


class Command(BaseCommand):
    help = (
        "Create an API token for USERNAME and print only its key (for automation). The key is "
        "not stored and cannot be shown again."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="command line", help="Label shown on the profile.")
        parser.add_argument(
            "--expires-days", type=int, default=None, help="Days until the token stops working."
        )

    def handle(self, *args, **options):
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"No user named {options['username']!r}.")
        if not user.is_active:
            raise CommandError(f"The user {user.username!r} is deactivated.")
        days = options["expires_days"]
        if days is not None and not 1 <= days <= MAX_DAYS:
            raise CommandError(f"--expires-days must be between 1 and {MAX_DAYS}.")
        expires_at = timezone.now() + timedelta(days=days) if days else None
        try:
            _, raw_key = api_token_create(user=user, name=options["name"], expires_at=expires_at)
        except FlowgateError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(raw_key)
