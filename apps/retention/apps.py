from django.apps import AppConfig


class RetentionConfig(AppConfig):
    name = "apps.retention"
    label = "retention"
    verbose_name = "Retention and archival"
    default_auto_field = "django.db.models.BigAutoField"
