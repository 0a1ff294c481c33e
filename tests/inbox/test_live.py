"""The inbox websocket: a task offered to a role reaches the browsers of that role, after commit.

The async side runs in a thread of its own with an in-memory channel layer: the browser tests
leave an event loop running in the main thread, where async_to_sync refuses to work.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.common import broadcast
from apps.common.actors import Actor
from apps.common.errors import AccessDenied
from apps.engine import services
from apps.inbox import selectors
from apps.inbox import services as inbox_services
from apps.inbox.live import InboxConsumer
from apps.inbox.models import HumanTask, InboxEvent
from tests.engine.conftest import run_jobs
from tests.inbox.conftest import open_task, start
from tests.support.loops import run_async

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def memory_layer(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


def _socket(user) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(InboxConsumer.as_asgi(), "/ws/inbox/")
    communicator.scope["user"] = user
    return communicator


def test_anonymous_sockets_are_refused():
    async def run():
        return await _socket(AnonymousUser()).connect()

    assert run_async(run) == (False, 4401)


def test_a_new_task_reaches_its_role_and_nobody_else(deploy, make_user):
    approver = make_user("approver", username="live-approver")
    auditor = make_user("auditor", username="live-auditor")
    version = deploy("approval.bpmn")
    approver.role_names(), auditor.role_names()  # cached now: the consumer does no database work
    database = ThreadPoolExecutor(max_workers=1)  # one thread, one database connection

    async def run():
        listening, other = _socket(approver), _socket(auditor)
        assert (await listening.connect())[0] and (await other.connect())[0]
        try:
            instance = await sync_to_async(
                services.instance_start, thread_sensitive=False, executor=database
            )(version=version, variables={"amount": 5}, actor=Actor.system("test"))
            received = await listening.receive_json_from(timeout=5)
            silent = await other.receive_nothing(timeout=0.3)
        finally:
            await listening.disconnect()
            await other.disconnect()
            await sync_to_async(
                lambda: connection.close(), thread_sensitive=False, executor=database
            )()
        return instance, received, silent

    instance, received, silent = run_async(run)
    database.shutdown()
    task = HumanTask.objects.get(instance=instance)
    event = InboxEvent.objects.get(task_id=task.pk)
    assert received == {"task": task.pk, "status": "open", "event": event.pk}
    assert (event.kind, event.roles, event.users) == ("created", ["approver"], [])
    assert silent is True


def test_automated_steps_reach_the_requesters_feed_and_nobody_elses(deploy_inbox, people):
    """The requester's page follows automated steps live (no timed refresh): each step the
    engine finishes for their request is an event for them alone."""
    deploy_inbox("expense.bpmn")
    requester, boss = people["requester"], people["manager"]
    instance = start("expense_approval", requester, amount=2500, description="Laptop")
    since = selectors.last_event_id()
    task = open_task(instance, "manager_approval")
    inbox_services.task_complete(
        task_id=task.pk, user=boss, data={"approved": True}, actor=Actor.for_user(boss)
    )
    run_jobs(instance)
    instance.refresh_from_db()
    assert instance.status == "completed"

    rows = InboxEvent.objects.filter(pk__gt=since, kind="instance")
    assert rows.exists() and {tuple(r.users) for r in rows} == {(requester.pk,)}
    assert rows.order_by("-pk").first().status == "completed"
    _, seen = selectors.events_since(user=requester, since=since)
    assert {"instance": instance.pk, "kind": "instance", "status": "completed"}.items() <= (
        [e for e in seen if e["kind"] == "instance"][-1].items()
    )
    _, other = selectors.events_since(user=people["outsider"], since=since)
    assert [e for e in other if e["kind"] == "instance"] == []


def test_an_approvals_feed_rows_are_one_insert_in_the_order_they_happened(
    deploy_inbox, people, monkeypatch
):
    """Approving the first gate writes three feed rows — the completed task, the next gate's
    task, the instance — in one INSERT (decision 044), in that order, and each doorbell after
    commit names its own row."""
    deploy_inbox("two_step.bpmn")
    requester, approver = people["manager"], people["approver"]
    instance = start("purchase", requester, cost_owner="nobody")
    first = open_task(instance, "first")
    since = selectors.last_event_id()
    rung: list[int] = []
    monkeypatch.setattr(
        broadcast, "group_send", lambda groups, payload: rung.append(payload["event"])
    )
    with CaptureQueriesContext(connection) as captured:
        inbox_services.task_complete(
            task_id=first.pk, user=approver, data={"approved": True}, actor=Actor.for_user(approver)
        )
    inserts = [q for q in captured.captured_queries if 'INTO "inbox_inboxevent"' in q["sql"]]
    assert len(inserts) == 1
    second = open_task(instance, "second")
    rows = list(
        InboxEvent.objects.filter(pk__gt=since).order_by("pk").values_list("pk", "task_id", "kind")
    )
    assert [(task, kind) for _, task, kind in rows] == [
        (first.pk, "completed"),
        (second.pk, "created"),
        (0, "instance"),
    ]
    assert rung == [pk for pk, _, _ in rows]


def test_a_failed_approval_writes_no_feed_row(deploy_inbox, people):
    deploy_inbox("two_step.bpmn")
    owner = people["approver"]
    instance = start("purchase", people["manager"], cost_owner=owner.username)
    task = open_task(instance, "first")
    since = selectors.last_event_id()
    with pytest.raises(AccessDenied):  # four-eyes: the cost owner may not approve
        inbox_services.task_complete(
            task_id=task.pk, user=owner, data={"approved": True}, actor=Actor.for_user(owner)
        )
    assert not InboxEvent.objects.filter(pk__gt=since).exists()


def test_an_approvals_audit_events_are_one_insert_with_the_same_chain(deploy_inbox, people):
    """The next gate's "task created" and the approval itself: one INSERT (decision 044), in the
    order they always had, and the chain links and verifies."""
    from apps.audit.models import AuditEvent
    from apps.audit.services import verification_run

    deploy_inbox("two_step.bpmn")
    approver = people["approver"]
    instance = start("purchase", people["manager"], cost_owner="nobody")
    first = open_task(instance, "first")
    with CaptureQueriesContext(connection) as captured:
        inbox_services.task_complete(
            task_id=first.pk, user=approver, data={"approved": True}, actor=Actor.for_user(approver)
        )
    inserts = [q for q in captured.captured_queries if 'INTO "audit_auditevent"' in q["sql"]]
    assert len(inserts) == 1
    actions = list(
        AuditEvent.objects.filter(instance_id=instance.pk)
        .order_by("position")
        .values_list("action", flat=True)
    )
    assert actions[-2:] == ["task.created", "task.approved"]
    result = verification_run(actor=Actor.system("test"))
    assert result.intact and not result.forged, result.reason
