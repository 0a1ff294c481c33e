from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "apps.reports"
    label = "reports"

    def ready(self) -> None:
        # The inbox's task rows must make way when an operator moves a token back (see
        # apps.engine.operator_services); registered here until the inbox registers it itself.
        from apps.engine.services import instance_advanced, step_reactivated
        from apps.reports.facts import task_facts_record
        from apps.reports.services import human_task_reactivated

        step_reactivated.connect(human_task_reactivated)
        # Completed tasks and finished jobs become report facts in the completion's
        # transaction (decision 017).
        instance_advanced.connect(task_facts_record)

        # The designer's process list shows each process's SLO state ("SLO at risk").
        from apps.designer.hooks import process_badge_providers
        from apps.reports.designer_badges import slo_process_badges

        process_badge_providers.connect(slo_process_badges)
