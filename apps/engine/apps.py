from django.apps import AppConfig


class EngineConfig(AppConfig):
    name = "apps.engine"
    label = "engine"

    def ready(self) -> None:
        # Importing the tasks module installs the doorbell (apps.engine.runtime.hooks): the
        # runtime rings through it without importing the Celery layer above it.
        from apps.engine import tasks  # noqa: F401
        from apps.engine.services import start_schedules_create
        from apps.processes.hooks import version_deployed_listener_register

        version_deployed_listener_register(start_schedules_create)
