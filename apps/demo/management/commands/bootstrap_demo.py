from django.core.management.base import BaseCommand, CommandError

from apps.accounts.services import demo_users_ensure
from apps.processes.demo import demo_processes_ensure


class Command(BaseCommand):
    help = "Create demo users in every role and the demo processes (idempotent; not in production)."

    def handle(self, *args, **options):
        try:
            users = demo_users_ensure()
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        processes = demo_processes_ensure()
        self.stdout.write(self.style.SUCCESS("Demo logins (embedded mode only):"))
        for username, password in users:
            self.stdout.write(f"  {username:<10} {password}")
        if processes:
            self.stdout.write("Demo processes: " + ", ".join(processes))
