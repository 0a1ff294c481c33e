from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "apps.inbox"
    label = "inbox"

    def ready(self) -> None:
        # Models load only after the app registry is ready, so the projection is imported here.
        from apps.engine.services import instance_advanced, user_tasks_changed
        from apps.inbox.live import publish_instance_changed
        from apps.inbox.projection import human_tasks_sync

        user_tasks_changed.connect(human_tasks_sync)
        instance_advanced.connect(publish_instance_changed)
