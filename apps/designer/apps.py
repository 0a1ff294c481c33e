from django.apps import AppConfig


class DesignerConfig(AppConfig):
    """The browser designer's pages and everything in it that needs the running engine
    (the test run). Sits above apps.engine and apps.processes."""

    name = "apps.designer"
    label = "designer"

    def ready(self) -> None:
        # Models load only after the app registry is ready, so the resolver is imported here.
        from apps.designer.testrun import stub_for_job
        from apps.engine.services import job_stub

        job_stub.connect(stub_for_job)
