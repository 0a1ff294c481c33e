from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "apps.reports"
    label = "reports"

    def ready(self) -> None:
        # The inbox's task rows must make way when an operator moves a token back (see
        # apps.engine.operations); registered here until the inbox registers it itself.
        from apps.engine.operations import register_reactivation_handler
        from apps.reports.services import human_task_reactivated

        register_reactivation_handler(human_task_reactivated)
