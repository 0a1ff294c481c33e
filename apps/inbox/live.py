"""Live inbox updates: after a task changes and the transaction commits, tell the browsers of the
people who may see it. The message only says "refresh"; the page reloads its list from the database,
so a lost message never leaves a stale inbox (and polling covers the embedded mode, whose in-memory
channel layer cannot carry worker events to the web process)."""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def group_for_role(role: str) -> str:
    return f"inbox.role.{role}"


def group_for_user(user_id: int) -> str:
    return f"inbox.user.{user_id}"


def publish_task_changed(task) -> None:
    """Schedule a notification for everyone the task is offered or assigned to (after commit)."""
    groups = [group_for_role(role) for role in task.candidate_groups]
    if task.assignee_id:
        groups.append(group_for_user(task.assignee_id))
    usernames = list(task.candidate_users)
    payload = {"type": "inbox.changed", "task": task.pk, "status": task.status}

    def send() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        targets = list(groups)
        if usernames:
            from apps.accounts.models import User

            targets += [
                group_for_user(pk)
                for pk in User.objects.filter(username__in=usernames).values_list("pk", flat=True)
            ]
        try:
            for group in dict.fromkeys(targets):
                async_to_sync(layer.group_send)(group, payload)
        except Exception:  # a live update is a courtesy; the page also polls
            logger.warning("could not publish an inbox update", exc_info=True)

    transaction.on_commit(send)


class InboxConsumer(AsyncJsonWebsocketConsumer):
    """/ws/inbox/: joins the groups of the user and their roles; forwards "changed" events."""

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        roles = await self._roles(user)
        self.groups_joined = [group_for_user(user.pk), *(group_for_role(r) for r in sorted(roles))]
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def inbox_changed(self, event):
        await self.send_json({"task": event["task"], "status": event["status"]})

    @staticmethod
    async def _roles(user) -> set[str]:
        from asgiref.sync import sync_to_async

        return await sync_to_async(user.role_names)()
