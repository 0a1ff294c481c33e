"""The inbox websocket: a task offered to a role reaches the browsers of that role, after commit."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

from apps.audit.services import Actor
from apps.engine import services
from apps.inbox.live import InboxConsumer
from apps.inbox.models import HumanTask

pytestmark = pytest.mark.django_db(transaction=True)


async def _connect(user) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(InboxConsumer.as_asgi(), "/ws/inbox/")
    communicator.scope["user"] = user
    return communicator


def test_anonymous_sockets_are_refused():
    async def run():
        communicator = await _connect(AnonymousUser())
        connected, code = await communicator.connect()
        return connected, code

    assert async_to_sync(run)() == (False, 4401)


def test_a_new_task_and_its_completion_reach_the_role_but_not_others(deploy, make_user):
    approver = make_user("approver", username="live-approver")
    auditor = make_user("auditor", username="live-auditor")
    version = deploy("approval.bpmn")

    async def run():
        listening = await _connect(approver)
        other = await _connect(auditor)
        assert (await listening.connect())[0] and (await other.connect())[0]
        from asgiref.sync import sync_to_async

        instance = await sync_to_async(services.instance_start)(
            version=version, variables={"amount": 5}, actor=Actor.system("test")
        )
        created = await listening.receive_json_from(timeout=5)
        nothing = await other.receive_nothing(timeout=0.3)
        await listening.disconnect()
        await other.disconnect()
        return instance, created, nothing

    instance, created, nothing = async_to_sync(run)()
    task = HumanTask.objects.get(instance=instance)
    assert created == {"task": task.pk, "status": "open"}
    assert nothing is True
