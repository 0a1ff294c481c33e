from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data for the embedded mode: the top layer, so it may use every app's services."""

    name = "apps.demo"
    label = "demo"
