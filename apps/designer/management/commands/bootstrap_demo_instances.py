from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.designer.demo import demo_instances_ensure
from apps.processes.demo import demo_processes_ensure


class Command(BaseCommand):
    help = "Sample instances of the expense demo in every state (idempotent; not in production)."

    def handle(self, *args, **options):
        if not getattr(settings, "FLOWGATE_DEMO_ALLOWED", False):
            raise CommandError("Demo data refused: FLOWGATE_DEMO_ALLOWED is off.")
        demo_processes_ensure()
        made = demo_instances_ensure()
        self.stdout.write("Demo instances: " + ("; ".join(made) if made else "already there"))
