from django.apps import AppConfig


class InvariantsConfig(AppConfig):
    name = "apps.invariants"
    label = "invariants"
    verbose_name = "Invariant checker"
