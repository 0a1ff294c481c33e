from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.reports.demo import report_demo_seed


class Command(BaseCommand):
    help = (
        "Write 30 days of demo history for expense_approval (manager_approval breaches its SLA "
        "in 30% of cases, the SLO is at risk, two failed steps). Idempotent; not in production."
    )

    def handle(self, *args, **options):
        if not settings.FLOWGATE_DEMO_ALLOWED:
            raise CommandError("Demo data is refused when DJANGO_ENV=production.")
        try:
            summary = report_demo_seed()
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        if not summary.created:
            self.stdout.write("Report demo history already present: nothing added.")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Report demo: {summary.completed} finished instances, {summary.approvals} "
                f"approvals ({summary.approvals_breached} breached their SLA), "
                f"{summary.open_tasks} approvals open now, {summary.incidents} incidents."
            )
        )
