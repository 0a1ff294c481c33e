"""GET/POST /api/v1/instances/{id}/move-token/: operators only, a preview that changes nothing,
the move with its reason, refusals as specific 4xx with a message."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.audit.models import AuditEvent
from apps.common.actors import Actor
from apps.engine import services as engine
from apps.engine.models import ProcessInstance
from apps.inbox.models import HumanTask, TaskStatus
from tests.api.helpers import assert_error, token_client, token_for
from tests.engine.conftest import deploy  # noqa: F401 - shared fixture

pytestmark = pytest.mark.django_db(transaction=True)
BODY = {"from": "review", "to": "book", "reason": "booked by hand"}


@pytest.fixture
def waiting(deploy):  # noqa: F811
    version = deploy("move_token.bpmn")
    return engine.instance_start(
        version=version, variables={"days": 2, "order_id": "A1"}, actor=Actor.system("t")
    )


def client_for(make_user, *roles) -> APIClient:
    _, key = token_for(make_user(*roles))
    return token_client(key)


def url(instance) -> str:
    return f"/api/v1/instances/{instance.pk}/move-token/"


def open_tasks(instance) -> list[str]:
    return list(
        HumanTask.objects.filter(instance=instance, status=TaskStatus.OPEN).values_list(
            "activity_id", flat=True
        )
    )


def test_only_operators_may_move_a_token_and_a_denied_request_changes_nothing(waiting, make_user):
    assert_error(APIClient().post(url(waiting), BODY, format="json"), 401, "not_authenticated")
    for roles in [(), ("approver",), ("designer",), ("auditor",)]:
        response = client_for(make_user, *roles).post(url(waiting), BODY, format="json")
        assert_error(response, 403, "role_required")
        assert_error(client_for(make_user, *roles).get(url(waiting)), 403, "role_required")
    assert open_tasks(waiting) == ["review"]
    assert not AuditEvent.objects.filter(action="instance.token_moved").exists()


def test_the_options_a_preview_and_the_move(waiting, make_user):
    client = client_for(make_user, "manager")
    options = client.get(url(waiting)).json()
    assert options["active"] == [{"activity_id": "review", "type": "UserTask", "name": "Review"}]
    assert {"activity_id": "book", "type": "ServiceTask", "name": "Book"} in options["targets"]

    preview = client.post(url(waiting), {**BODY, "dry_run": True}, format="json")
    assert preview.status_code == 200, preview.content
    body = preview.json()
    assert (body["from"], body["to"], body["dry_run"]) == ("review", "book", True)
    assert body["waits_created"] == [{"kind": "job", "activity_id": "book", "detail": "echo"}]
    assert open_tasks(waiting) == ["review"]

    moved = client.post(url(waiting), BODY, format="json")
    assert moved.status_code == 200, moved.content
    assert moved.json()["waiting_after"] == ["book"]
    assert open_tasks(waiting) == []
    event = AuditEvent.objects.get(action="instance.token_moved")
    assert event.data["reason"] == "booked by hand"
    assert event.actor_label or event.actor_id


@pytest.mark.parametrize(
    ("body", "status", "code", "words"),
    [
        ({**BODY, "to": "remind"}, 400, "boundary_event", "'remind' is a boundary event"),
        ({**BODY, "to": "nowhere"}, 400, "unknown_target", "This process has no step 'nowhere'"),
        ({**BODY, "from": "book"}, 409, "not_active", "'book' is not an active element"),
        ({"from": "review", "to": "book", "reason": " "}, 400, None, None),
        ({"from": "review", "to": "book"}, 400, None, None),
    ],
)
def test_refusals_are_specific_4xx_and_change_nothing(
    waiting, make_user, body, status, code, words
):
    state = ProcessInstance.objects.get(pk=waiting.pk).state
    response = client_for(make_user, "admin").post(url(waiting), body, format="json")
    assert response.status_code == status, response.content
    if code:
        assert response.json()["error"] == code
        assert words in response.json()["message"]
    assert ProcessInstance.objects.get(pk=waiting.pk).state == state


def test_an_unknown_instance_is_a_404(make_user):
    response = client_for(make_user, "admin").post(
        "/api/v1/instances/999999/move-token/", BODY, format="json"
    )
    assert_error(response, 404, "not_found")
