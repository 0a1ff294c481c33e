from django.core.management.base import BaseCommand, CommandError

from apps.accounts.services import demo_users_ensure
from apps.calendars.demo import demo_calendar_ensure
from apps.designer.demo import demo_instances_ensure
from apps.processes.demo import demo_processes_ensure
from apps.reports.demo import report_demo_seed


class Command(BaseCommand):
    help = (
        "Create demo users in every role, the demo processes, sample instances in every state and "
        "30 days of report history (idempotent; not in production)."
    )

    def handle(self, *args, **options):
        try:
            users = demo_users_ensure()
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        calendar = demo_calendar_ensure()
        processes = demo_processes_ensure()
        try:
            history = report_demo_seed()
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        instances = demo_instances_ensure()
        self.stdout.write(self.style.SUCCESS("Demo logins (embedded mode only):"))
        for username, password in users:
            self.stdout.write(f"  {username:<10} {password}")
        if processes:
            self.stdout.write("Demo processes: " + ", ".join(processes))
        if calendar:
            self.stdout.write(f"Business calendar: {calendar}")
        if instances:
            self.stdout.write("Demo instances: " + "; ".join(instances))
        if history.created:
            self.stdout.write(
                f"Report history: {history.completed} finished instances, "
                f"{history.approvals_breached} of {history.approvals} approvals breached their SLA."
            )
