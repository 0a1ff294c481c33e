"""CSRF on every state-changing form and on the API with a session (what the designer and task
form scripts use): a signed-in user who *may* do the action, without a CSRF token, or with a
valid token but a foreign Origin, is refused with 403 and nothing changes.

To cover a new form, add a row to ``FORMS`` (or ``SESSION_API``): (name, url(world), body, who).
"""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tests.security.conftest import page_client
from tests.security.corpus import corpus, refused, unchanged

pytestmark = [pytest.mark.django_db, corpus("CSRF")]

# (name, url, form body, the user who is allowed to do it)
FORMS: list[tuple[str, object, dict, str | None]] = [
    ("login", lambda w: "/accounts/login/", {"username": "alex", "password": "x"}, None),
    ("logout", lambda w: "/accounts/logout/", {}, "alex"),
    ("token-create", lambda w: "/accounts/profile/tokens/", {"name": "csrf"}, "alex"),
    ("token-revoke", lambda w: f"/accounts/profile/tokens/{w.alex_token.pk}/revoke/", {}, "alex"),
    ("task-claim", lambda w: f"/inbox/tasks/{w.approval_task.pk}/claim/", {}, "alex"),
    ("task-unclaim", lambda w: f"/inbox/tasks/{w.approval_task.pk}/unclaim/", {}, "alex"),
    (
        "task-delegate",
        lambda w: f"/inbox/tasks/{w.approval_task.pk}/delegate/",
        {"username": "mona"},
        "alex",
    ),
    (
        "task-approve",
        lambda w: f"/inbox/tasks/{w.approval_task.pk}/decide/",
        {"decision": "approve"},
        "alex",
    ),
    (
        "task-reject",
        lambda w: f"/inbox/tasks/{w.approval_task.pk}/decide/",
        {"decision": "reject"},
        "alex",
    ),
    ("instance-cancel", lambda w: f"/inbox/instances/{w.approval.pk}/cancel/", {}, "mona"),
    ("instance-suspend", lambda w: f"/inbox/instances/{w.approval.pk}/suspend/", {}, "mona"),
    ("audit-verify", lambda w: "/admin-reports/audit/verify/", {}, "audrey"),
    ("process-upload", lambda w: "/designer/upload/", {"file": ""}, "dana"),
    ("incident-retry", lambda w: "/admin-reports/incidents/1/retry/", {}, "mona"),
    ("admin-login", lambda w: "/admin/login/", {"username": "ada", "password": "x"}, None),
]

# The API with a session cookie (no token): DRF's SessionAuthentication enforces CSRF.
SESSION_API: list[tuple[str, object, dict, str]] = [
    ("api-deploy", lambda w: "/api/v1/processes/deploy/", {"xml": "<x/>"}, "dana"),
    ("api-test-run", lambda w: "/api/v1/processes/expense/test-runs/", {}, "dana"),
    ("api-start", lambda w: "/api/v1/instances/", {"process_key": "expense"}, "rita"),
    ("api-claim", lambda w: f"/api/v1/tasks/{w.approval_task.pk}/claim/", {}, "alex"),
    (
        "api-complete",
        lambda w: f"/api/v1/tasks/{w.form_task.pk}/complete/",
        {"data": {"reason": "x"}},
        "alex",
    ),
    (
        "api-delegate",
        lambda w: f"/api/v1/tasks/{w.approval_task.pk}/delegate/",
        {"username": "mona"},
        "alex",
    ),
    ("api-cancel", lambda w: f"/api/v1/instances/{w.approval.pk}/cancel/", {}, "mona"),
    ("api-token-create", lambda w: "/api/v1/tokens/", {"name": "csrf"}, "alex"),
    ("api-secret-create", lambda w: "/api/v1/secrets/", {"name": "s", "value": "v"}, "ada"),
    (
        "api-webhook-create",
        lambda w: "/api/v1/processes/expense/webhooks/",
        {"message_name": "go"},
        "dana",
    ),
    ("api-message", lambda w: "/api/v1/messages/", {"message_name": "go"}, "alex"),
]


def _client(world, who: str | None) -> Client:
    return page_client(getattr(world.people, who) if who else None, csrf=True)


def _token(client: Client) -> str:
    """A valid CSRF token of this client (any page with a form sets the cookie)."""
    client.get("/accounts/login/")
    if "csrftoken" not in client.cookies:  # signed in: the login page redirects
        client.get("/accounts/profile/")
    return client.cookies["csrftoken"].value


@pytest.mark.parametrize(
    ("url", "body", "who"), [pytest.param(u, b, w, id=n) for n, u, b, w in FORMS]
)
def test_form_post_without_csrf_token_is_refused(world, url, body, who):
    client = _client(world, who)
    with unchanged():
        response = client.post(url(world), body)
    refused(response, 403)
    assert b"CSRF" in response.content


@pytest.mark.parametrize(
    ("url", "body", "who"), [pytest.param(u, b, w, id=n) for n, u, b, w in FORMS]
)
def test_form_post_with_a_token_from_a_foreign_origin_is_refused(world, url, body, who):
    client = _client(world, who)
    token = _token(client)
    with unchanged():
        response = client.post(
            url(world),
            {**body, "csrfmiddlewaretoken": token},
            HTTP_ORIGIN="https://evil.example",
        )
    refused(response, 403)
    assert b"CSRF" in response.content


@pytest.mark.parametrize(
    ("url", "body", "who"), [pytest.param(u, b, w, id=n) for n, u, b, w in SESSION_API]
)
def test_session_api_post_without_csrf_token_is_refused(world, url, body, who):
    client = _client(world, who)
    with unchanged():
        response = client.post(url(world), json.dumps(body), content_type="application/json")
    body = refused(response, 403, "forbidden")
    assert body["message"].startswith("CSRF Failed")


@pytest.mark.parametrize(
    ("url", "body", "who"), [pytest.param(u, b, w, id=n) for n, u, b, w in SESSION_API]
)
def test_session_api_post_with_a_token_from_a_foreign_origin_is_refused(world, url, body, who):
    client = _client(world, who)
    token = _token(client)
    with unchanged():
        response = client.post(
            url(world),
            json.dumps(body),
            content_type="application/json",
            HTTP_X_CSRFTOKEN=token,
            HTTP_ORIGIN="https://evil.example",
        )
    body = refused(response, 403, "forbidden")
    assert body["message"].startswith("CSRF Failed")


@pytest.mark.corpus("controls")
def test_control_the_same_post_with_a_token_and_our_origin_goes_through(world):
    """Positive control: the refusals above are CSRF's, not a broken request."""
    client = _client(world, "alex")
    token = _token(client)
    response = client.post(
        f"/inbox/tasks/{world.approval_task.pk}/claim/",
        {"csrfmiddlewaretoken": token},
        HTTP_ORIGIN="http://testserver",
    )
    assert response.status_code == 302
    world.approval_task.refresh_from_db()
    assert world.approval_task.assignee == world.people.alex
