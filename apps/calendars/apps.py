from django.apps import AppConfig


class CalendarsConfig(AppConfig):
    name = "apps.calendars"
    label = "calendars"
    verbose_name = "Business calendars"
    default_auto_field = "django.db.models.BigAutoField"
