"""Four-eyes bypass attempts: the requester (rita) of an approval tries to decide it herself —
directly, by delegation to herself, by claiming first, by changing the payload's user, by a
spoofed header, through the page form, and by starting the instance "on behalf of" someone else.
Every attempt is refused with the specific error and the task stays open and undecided.
"""

from __future__ import annotations

import json

import pytest

from apps.common.actors import Actor
from apps.common.errors import AccessDenied
from apps.inbox.models import HumanTask
from apps.inbox.services import task_claim
from tests.security.conftest import api_client, page_client
from tests.security.corpus import corpus, refused, unchanged

pytestmark = [pytest.mark.django_db, corpus("four-eyes")]

FOUR_EYES = (403, "four_eyes")
PAYLOADS = {
    "approve": {"approved": True},
    "reject": {"approved": False},
    "outcome-text": {"outcome": "approved"},
    "completed_by-alex": {"approved": True, "completed_by": "alex"},
    "user-alex": {"approved": True, "user": "alex", "username": "alex"},
    "requested_by-null": {"approved": True, "requested_by": None, "requested_by_id": None},
    "requested_by-alex": {"approved": True, "requested_by": "alex", "requested_by_id": 0},
    "actor-system": {"approved": True, "actor": "system", "on_behalf_of": "alex"},
}


def _complete(client, task, data, **extra):
    return client.post(f"/api/v1/tasks/{task.pk}/complete/", {"data": data}, format="json", **extra)


@pytest.mark.parametrize("data", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_requester_cannot_decide_her_own_request_whatever_the_payload(world, data):
    client = api_client(world.people.rita)
    with unchanged():
        response = _complete(client, world.approval_task, data)
    refused(response, *FOUR_EYES)


def test_requester_can_neither_claim_nor_then_decide_it(world):
    with unchanged(), pytest.raises(AccessDenied) as caught:
        task_claim(task_id=world.approval_task.pk, user=world.people.rita, actor=Actor.system("t"))
    assert caught.value.code == "four_eyes"
    client = api_client(world.people.rita)
    with unchanged():
        response = _complete(client, world.approval_task, {"approved": True})
    refused(response, *FOUR_EYES)


@pytest.mark.parametrize(
    "header",
    [
        {"HTTP_X_FORWARDED_USER": "alex"},
        {"HTTP_X_REMOTE_USER": "alex", "REMOTE_USER": "alex"},
        {"HTTP_X_ON_BEHALF_OF": "alex", "HTTP_X_ACTING_AS": "alex"},
    ],
    ids=["x-forwarded-user", "remote-user", "on-behalf-of"],
)
def test_spoofed_identity_headers_change_nothing(world, header):
    client = api_client(world.people.rita)
    with unchanged():
        response = _complete(client, world.approval_task, {"approved": True}, **header)
    refused(response, *FOUR_EYES)


def test_requester_with_a_bearer_token_and_a_session_at_once_is_still_the_requester(world):
    client = api_client(world.people.rita)
    client.force_login(world.people.alex)  # a session of someone else beside rita's token
    with unchanged():
        response = _complete(client, world.approval_task, {"approved": True})
    refused(response, *FOUR_EYES)


@pytest.mark.parametrize(
    ("who", "target"),
    [("rita", "rita"), ("alex", "rita"), ("mona", "rita"), ("alex", "RITA")],
    ids=["to-herself", "approver-to-requester", "manager-to-requester", "case-trick"],
)
def test_an_approval_cannot_be_delegated_to_its_requester(world, who, target):
    client = api_client(getattr(world.people, who))
    with unchanged():
        response = client.post(
            f"/api/v1/tasks/{world.approval_task.pk}/delegate/",
            {"username": target},
            format="json",
        )
    if target == "RITA":  # user names are case-sensitive: no such user (and never rita)
        refused(response, 400, "unknown_user")
    else:
        refused(response, 400, "four_eyes")


@pytest.mark.parametrize(
    "body",
    [
        [{"data": {"approved": True}}],
        {"data": [{"approved": True}]},
        {"data": {"approved": True}, "tasks": [1, 2, 3]},
    ],
    ids=["list-body", "list-data", "bulk-ids"],
)
def test_bulk_shaped_completions_are_refused(world, body):
    client = api_client(world.people.rita)
    with unchanged():
        response = client.post(
            f"/api/v1/tasks/{world.approval_task.pk}/complete/",
            json.dumps(body),
            content_type="application/json",
        )
    if isinstance(body, dict) and "tasks" in body:
        refused(response, *FOUR_EYES)  # extra keys are ignored; the rule still holds
    else:
        refused(response, 400, "invalid")


def test_there_is_no_bulk_completion_endpoint(world):
    client = api_client(world.people.rita)
    with unchanged():
        response = client.post(
            "/api/v1/tasks/complete/", {"ids": [world.approval_task.pk]}, format="json"
        )
    refused(response, 404, "not_found")


@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_requester_cannot_decide_through_the_page_form(world, decision):
    client = page_client(world.people.rita)
    with unchanged():
        response = client.post(
            f"/inbox/tasks/{world.approval_task.pk}/decide/",
            {"decision": decision, "username": "alex", "completed_by": "alex"},
            follow=True,
        )
    refused(response, 200)  # back on the inbox, with the refusal shown
    assert "Four-eyes rule: you started this request" in response.content.decode()


def test_requester_cannot_delegate_to_herself_through_the_page_form(world):
    client = page_client(world.people.rita)
    with unchanged():
        response = client.post(
            f"/inbox/tasks/{world.approval_task.pk}/delegate/", {"username": "rita"}, follow=True
        )
    refused(response, 200)
    assert "Four-eyes rule: rita started this request and may not decide it." in (
        response.content.decode()
    )


@pytest.mark.parametrize(
    "body",
    [
        {"started_by": "alex", "requested_by": "alex"},
        {"variables": {"amount": 5, "requested_by": "alex", "initiator": "alex"}},
        {"user": "alex", "actor": "alex"},
    ],
    ids=["started_by-field", "variables", "user-field"],
)
def test_starting_on_behalf_of_someone_else_keeps_the_real_requester(world, body):
    client = api_client(world.people.rita)
    started = client.post(
        "/api/v1/instances/",
        {"process_key": "expense_approval", "variables": {"amount": 5}, **body},
        format="json",
    )
    assert started.status_code == 201, started.content
    task = HumanTask.objects.get(instance_id=started.json()["id"])
    assert task.requested_by == world.people.rita
    with unchanged():
        response = _complete(client, task, {"approved": True})
    refused(response, *FOUR_EYES)


@pytest.mark.parametrize("action", ["delegate", "reassign"])
@pytest.mark.parametrize("target", ["audrey", "mallory", "dave", "ada"])
def test_an_approval_goes_to_nobody_outside_its_candidates(world, action, target):
    """mona (a manager and an approver) hands the approvers' task to an auditor, a user with no
    role, a designer or an admin: none of them is a candidate, so none may hold or decide it."""
    client = api_client(world.people.mona)
    with unchanged():
        response = client.post(
            f"/api/v1/tasks/{world.approval_task.pk}/{action}/", {"username": target}, format="json"
        )
    refused(response, 400, "not_eligible")


def test_the_requester_cannot_hand_her_approval_to_a_friend(world):
    client = api_client(world.people.rita)
    with unchanged():
        response = client.post(
            f"/api/v1/tasks/{world.approval_task.pk}/delegate/", {"username": "alex"}, format="json"
        )
    refused(response, 403, "four_eyes")


def test_a_friend_of_the_requester_outside_the_role_cannot_approve(world):
    for who in ("audrey", "mallory", "dave"):
        client = api_client(getattr(world.people, who))
        with unchanged():
            response = _complete(client, world.approval_task, {"approved": True})
        refused(response, 404, "task_not_found")  # not offered to them: not even visible
