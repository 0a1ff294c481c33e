from django.apps import AppConfig


class DesignerConfig(AppConfig):
    """The browser designer's pages and everything in it that needs the running engine
    (the test run). Sits above apps.engine and apps.processes."""

    name = "apps.designer"
    label = "designer"
