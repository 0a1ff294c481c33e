from django.apps import AppConfig


class EngineConfig(AppConfig):
    name = "apps.engine"
    label = "engine"

    def ready(self) -> None:
        # The engine's hooks (apps.engine.runtime.hooks) and the deploy hook it listens to:
        # connected here, at start-up, never as a side effect of an import. Decision 027.
        from apps.engine.services import (
            job_announced,
            migration_run_announced,
            start_schedules_create,
        )
        from apps.engine.tasks import announce_job, announce_migration_run
        from apps.processes.hooks import version_deployed

        job_announced.connect(announce_job)
        migration_run_announced.connect(announce_migration_run)
        version_deployed.connect(start_schedules_create)
