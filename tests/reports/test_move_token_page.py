"""The console's move-token page (issue #21): operators only, a preview that changes nothing, the
confirmation required, the refusal's message on the page."""

from __future__ import annotations

import pytest

from apps.audit.models import AuditEvent
from apps.common.actors import Actor
from apps.engine import services as engine
from apps.engine.models import ProcessInstance
from apps.inbox.models import HumanTask, TaskStatus
from tests.engine.conftest import deploy  # noqa: F401 - shared fixture

pytestmark = pytest.mark.django_db(transaction=True)
MOVE = {"source": "review", "target": "book", "reason": "booked by phone"}


@pytest.fixture
def waiting(deploy):  # noqa: F811
    version = deploy("move_token.bpmn")
    return engine.instance_start(
        version=version, variables={"days": 2, "order_id": "A1"}, actor=Actor.system("t")
    )


def url(instance) -> str:
    return f"/admin-reports/instances/{instance.pk}/move-token/"


def unchanged(instance) -> bool:
    return (
        HumanTask.objects.get(instance=instance).status == TaskStatus.OPEN
        and not AuditEvent.objects.filter(action="instance.token_moved").exists()
    )


def test_only_operators_see_and_use_the_page(client, make_user, waiting):
    assert client.get(url(waiting)).status_code == 302  # to the login page
    for role in ("approver", "designer", "auditor"):
        client.force_login(make_user(role))
        assert client.get(url(waiting), MOVE).status_code == 403
        assert client.post(url(waiting), {**MOVE, "confirm": "on"}).status_code == 403
    assert unchanged(waiting)
    client.force_login(make_user("auditor"))
    console = client.get(f"/admin-reports/instances/{waiting.pk}/").content.decode()
    assert "Preview move" not in console and "instance-migrate" not in console


def test_preview_then_confirmed_move(client, make_user, waiting):
    client.force_login(make_user("manager"))
    console = client.get(f"/admin-reports/instances/{waiting.pk}/").content.decode()
    assert 'data-testid="move-token-form"' in console
    preview = client.get(url(waiting), MOVE).content.decode()
    assert "Preview: nothing was changed yet" in preview
    assert "<code>book</code> · echo" in preview
    assert unchanged(waiting)

    unconfirmed = client.post(url(waiting), MOVE).content.decode()
    assert "Tick the confirmation box to move the token." in unconfirmed
    assert unchanged(waiting)

    moved = client.post(url(waiting), {**MOVE, "confirm": "on"})
    assert moved.status_code == 302 and moved.url == f"/admin-reports/instances/{waiting.pk}/"
    assert HumanTask.objects.get(instance=waiting).status == TaskStatus.CANCELLED
    event = AuditEvent.objects.get(action="instance.token_moved")
    assert (event.actor_kind, event.data["reason"]) == ("user", "booked by phone")


def test_a_refusal_is_explained_and_an_ended_instance_offers_nothing(client, make_user, waiting):
    client.force_login(make_user("admin"))
    page = client.get(url(waiting), {**MOVE, "reason": " "}).content.decode()
    assert "Reason: This field is required." in page
    engine.instance_cancel(instance_id=waiting.pk, actor=Actor.system("t"), reason="x")
    page = client.get(url(waiting)).content.decode()
    assert 'data-testid="move-nothing"' in page
    assert ProcessInstance.objects.get(pk=waiting.pk).status == "cancelled"
    assert client.get("/admin-reports/instances/999999/move-token/").status_code == 404
