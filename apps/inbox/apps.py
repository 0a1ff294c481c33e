from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "apps.inbox"
    label = "inbox"

    def ready(self) -> None:
        # Models load only after the app registry is ready, so the projection is imported here.
        from apps.engine.services import advance_listener_register, user_task_listener_register
        from apps.inbox.live import publish_instance_changed
        from apps.inbox.projection import human_tasks_sync

        user_task_listener_register(human_tasks_sync)
        advance_listener_register(publish_instance_changed)
