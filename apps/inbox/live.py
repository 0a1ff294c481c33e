"""Live inbox updates: after a task changes and the transaction commits, tell the browsers of the
people who may see it. The message only says "refresh"; the page reloads its list from the database,
so a lost message never leaves a stale inbox. Every change is also a committed ``InboxEvent`` row:
browsers poll "events since N" in the embedded mode (whose in-memory channel layer cannot carry
worker events to the web process) and after every reconnect."""

from __future__ import annotations

from contextlib import AbstractContextManager
from functools import partial

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.db import transaction

from apps.accounts.models import User
from apps.common import broadcast
from apps.common.db import WriteBatch, insert_rows
from apps.inbox.models import InboxEvent

_Queued = tuple[InboxEvent, list[str], dict]


def _write(pending: list[_Queued]) -> None:
    """Insert the rows (one statement) and ring their doorbells after commit."""
    if not pending:
        return
    insert_rows([event for event, _, _ in pending])
    for event, groups, payload in pending:
        message = {**payload, "event": event.pk}
        # a live update is a courtesy; browsers also read the feed (apps.common.broadcast)
        transaction.on_commit(partial(broadcast.group_send, groups, message))


# The rows (with the groups to ring) of an ``events_batched`` block, written at its end.
_batch: WriteBatch[_Queued] = WriteBatch("inbox_events_pending", _write)


def events_batched() -> AbstractContextManager[None]:
    """Within the block, the feed rows of task and instance changes are queued and written at its
    end in one INSERT, in the order they were published (an approval writes three: the completed
    task, the next task, the instance; decision 044). Use it inside the change's transaction: if
    the block raises, nothing is written and the transaction rolls back. Nested blocks join the
    outer one; a row published inside a savepoint opened within the block is written at once,
    alone (that savepoint may roll back without the rest; ``apps.common.db.WriteBatch``)."""
    return _batch.block()


def _publish(event: InboxEvent, groups: list[str], payload: dict) -> None:
    row = (event, groups, payload)
    if not _batch.queue([row]):
        _write([row])


def group_for_role(role: str) -> str:
    return f"inbox.role.{role}"


def group_for_user(user_id: int) -> str:
    return f"inbox.user.{user_id}"


def publish_task_changed(task, kind: str = "changed", *, also: tuple[int, ...] = ()) -> None:
    """Record a task change in the live feed (same transaction) and ring the doorbell of
    everyone it concerns after commit (``also``: more user ids, such as substitutes).

    The row is what browsers read ("events since N"); the websocket message only says "look".
    """
    user_ids = {uid for uid in (task.assignee_id, task.owner_id, task.requested_by_id) if uid}
    user_ids |= set(also)  # e.g. out-of-office substitutes granted this task
    if task.candidate_users:
        user_ids |= set(
            User.objects.filter(username__in=list(task.candidate_users)).values_list(
                "pk", flat=True
            )
        )
    event = InboxEvent(
        task_id=task.pk,
        instance_id=task.instance_id,
        kind=kind,
        status=task.status,
        roles=sorted(task.candidate_groups),
        users=sorted(user_ids),
    )
    groups = [group_for_role(role) for role in task.candidate_groups]
    groups += [group_for_user(uid) for uid in sorted(user_ids)]
    _publish(event, groups, {"type": "inbox.changed", "task": task.pk, "status": task.status})


def publish_instance_changed(*, instance, steps=(), finished=False, **_) -> None:
    """An instance moved on (an automated step finished, it ended): tell its requester's pages
    (My requests, the request page) through the same feed and doorbell as task changes.
    The engine's advance listener (registered at start-up); runs under the instance lock."""
    if not (steps or finished) or not instance.started_by_id:
        return
    event = InboxEvent(
        task_id=0,
        instance_id=instance.pk,
        kind="instance",
        status=instance.status[:10],
        roles=[],
        users=[instance.started_by_id],
    )
    payload = {"type": "inbox.changed", "task": 0, "status": instance.status}
    _publish(event, [group_for_user(instance.started_by_id)], payload)


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
        await self.send_json(
            {"task": event["task"], "status": event["status"], "event": event.get("event")}
        )

    @staticmethod
    async def _roles(user) -> set[str]:
        from asgiref.sync import sync_to_async

        return await sync_to_async(user.role_names)()
