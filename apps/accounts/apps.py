from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"

    def ready(self) -> None:
        # drf-spectacular finds extensions by import (its documented place is ready()): this
        # registers the Token/Bearer security schemes for the OpenAPI schema.
        from apps.accounts import api_schema  # noqa: F401
