"""CSRF on every state-changing form and on the API with a session (what the designer and task
form scripts use): a signed-in user who *may* do the action, without a CSRF token, or with a
valid token but a foreign Origin, is refused with 403 and nothing changes.

To cover a new form, add a row to ``FORMS`` (or ``SESSION_API``): (name, url(world), body, who).
"""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve

from tests.security.conftest import PDF, page_client
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
    (
        "task-reassign",
        lambda w: f"/inbox/tasks/{w.approval_task.pk}/reassign/",
        {"username": "alex"},
        "mona",
    ),
    (
        "task-comment",
        lambda w: f"/inbox/tasks/{w.approval_task.pk}/comment/",
        {"body": "hi"},
        "alex",
    ),
    (
        "task-attach",
        lambda w: f"/inbox/tasks/{w.approval_task.pk}/attach/",
        lambda: {"file": SimpleUploadedFile("x.pdf", PDF, content_type="application/pdf")},
        "alex",
    ),
    ("bulk-approve", lambda w: "/inbox/bulk-approve/", lambda: {"task": [1, 2]}, "alex"),
    ("notification-settings", lambda w: "/inbox/settings/", {"form": "notifications"}, "alex"),
    (
        "out-of-office",
        lambda w: "/inbox/settings/",
        {
            "form": "substitution",
            "substitute": "mona",
            "starts_at": "2026-01-01T09:00",
            "ends_at": "2036-01-01T09:00",
        },
        "alex",
    ),
    ("request-cancel", lambda w: f"/requests/{w.approval.pk}/cancel/", {}, "rita"),
    ("request-comment", lambda w: f"/requests/{w.approval.pk}/comment/", {"body": "hi"}, "rita"),
    (
        "slo-save",
        lambda w: "/admin-reports/slo/save/",
        {
            "process_key": "expense_approval",
            "objective_percent": "99",
            "target_hours": "48",
            "window_days": "30",
        },
        "ada",
    ),
    ("incidents-retry-selected", lambda w: "/admin-reports/incidents/retry/", {}, "ada"),
    (
        "calendar-new",
        lambda w: "/admin-reports/calendars/new/",
        {"slug": "csrf", "name": "CSRF", "time_zone": "UTC", "mon": "09:00-17:00"},
        "ada",
    ),
    (
        "calendar-edit",
        lambda w: "/admin-reports/calendars/csrf/",
        {"name": "CSRF", "time_zone": "UTC", "mon": "09:00-17:00"},
        "ada",
    ),
    (
        "circuit-close",
        lambda w: "/admin-reports/circuits/close/",
        {"target": "http://down.example:80"},
        "ada",
    ),
    (
        "console-set-variable",
        lambda w: f"/admin-reports/instances/{w.approval.pk}/variable/",
        {"name": "amount", "value": "1"},
        "ada",
    ),
    (
        "console-cancel",
        lambda w: f"/admin-reports/instances/{w.approval.pk}/cancel/",
        {"reason": "csrf"},
        "ada",
    ),
    (
        "console-move-token",
        lambda w: f"/admin-reports/instances/{w.approval.pk}/move-token/",
        {"source": "start", "target": "start", "reason": "csrf", "confirm": "on"},
        "ada",
    ),
    (
        "console-migrate",
        lambda w: "/admin-reports/processes/expense/migrate/",
        {"from_version": "1", "to_version": "1", "action": "migrate", "confirm": "on"},
        "ada",
    ),
    ("designer-rollback", lambda w: "/designer/expense/v1/rollback/", {}, "dana"),
    ("designer-share", lambda w: "/designer/expense/viewers/", {"user": "mallory"}, "dana"),
    (
        "designer-unshare",
        lambda w: "/designer/expense/viewers/revoke/",
        {"role": "approver"},
        "dana",
    ),
    ("designer-draft-rename", lambda w: "/designer/expense/draft/rename/", {"name": "x"}, "dana"),
    ("designer-draft-discard", lambda w: "/designer/expense/draft/discard/", {}, "dana"),
    (
        "task-request-info",
        lambda w: f"/inbox/tasks/{w.approval_task.pk}/request-info/",
        {"question": "Which cost centre?"},
        "alex",
    ),
    (
        "request-answer",
        lambda w: f"/requests/{w.approval.pk}/tasks/{w.approval_task.pk}/answer/",
        {"answer": "CC-42"},
        "rita",
    ),
    (
        "retention-policy",
        lambda w: "/admin-reports/retention/policies/",
        {"process_key": "expense", "days": "30"},
        "ada",
    ),
    ("retention-default", lambda w: "/admin-reports/retention/default/", {"days": "30"}, "ada"),
    (
        "retention-hold",
        lambda w: "/admin-reports/retention/holds/",
        {"instance_id": "1", "reason": "csrf"},
        "ada",
    ),
    (
        "retention-release",
        lambda w: "/admin-reports/retention/holds/release/",
        {"instance_id": "1", "reason": "csrf"},
        "ada",
    ),
    (
        "retention-check",
        lambda w: "/admin-reports/retention/archives/check/",
        {"instance_id": "1"},
        "ada",
    ),
]

# Routes outside /api/ and /admin/ that change nothing (GET pages, downloads): every other route
# must have a row in FORMS, so that a new form cannot arrive without its CSRF check.
READ_ONLY_ROUTES = {
    "",
    "healthz",
    "metrics",
    "accounts/profile/",
    "designer/",
    "designer/new/",
    "designer/new/blank/",
    "designer/new/<slug:slug>/",
    "designer/templates/<slug:slug>.bpmn",
    "designer/<str:key>/",
    "designer/<str:key>/xml/",
    "designer/<str:key>/draft.bpmn",
    "designer/<str:key>/compare/",
    "designer/<str:key>/v<int:number>/",
    "designer/<str:key>/v<int:number>/xml/",
    "designer/decisions/",
    "designer/decisions/new/",  # GET: the new-decision form, then the editor (saves via the API)
    "designer/decisions/<str:key>/edit/",  # GET: the editor (Check/Deploy/Try go to the API)
    "admin-reports/decisions/",  # GET: the decision rules report
    # the decision page's "try it" form POSTs, but records nothing (Django's CSRF check applies)
    "designer/decisions/<str:key>/",
    "designer/decisions/<str:key>/v<int:number>/",
    "inbox/",
    "inbox/counts/",
    "inbox/tasks/<int:task_id>/",
    "inbox/requests/<int:instance_id>/files/<int:attachment_id>/",
    "inbox/instances/",
    "inbox/instances/<int:instance_id>/",
    "requests/",
    "requests/new/",
    "requests/new/<str:key>/",  # the start form posts to the API (SESSION_API: api-request-start)
    "requests/<int:instance_id>/",
    "admin-reports/",
    "admin-reports/sla/",
    "admin-reports/slo/",
    "admin-reports/calendars/",
    "admin-reports/retention/",  # GET: the page; its forms have rows in FORMS
    "admin-reports/heatmap/",
    "admin-reports/incidents/",
    "admin-reports/circuits/",
    "admin-reports/instances/",
    "admin-reports/instances/<int:instance_id>/",
    "admin-reports/migrations/",
    "admin-reports/migrations/<int:run_id>/",
    "admin-reports/audit/",
    "admin-reports/audit/export.csv",
    "admin-reports/audit/export.json",
    "admin-reports/audit/instances/<int:instance_id>/",
    "admin-reports/audit/instances/<int:instance_id>/evidence.zip",
}

# The API with a session cookie (no token): DRF's SessionAuthentication enforces CSRF.
SESSION_API: list[tuple[str, object, dict, str]] = [
    ("api-deploy", lambda w: "/api/v1/processes/deploy/", {"xml": "<x/>"}, "dana"),
    ("api-test-run", lambda w: "/api/v1/processes/expense/test-runs/", {}, "dana"),
    ("api-start", lambda w: "/api/v1/instances/", {"process_key": "expense"}, "rita"),
    (
        "api-instance-migrate",
        lambda w: f"/api/v1/instances/{w.approval.pk}/migrate/",
        {"to_version": 1},
        "ada",
    ),
    (
        "api-instance-move-token",
        lambda w: f"/api/v1/instances/{w.approval.pk}/move-token/",
        {"from": "start", "to": "start", "reason": "csrf"},
        "ada",
    ),
    (
        "api-process-migrations",
        lambda w: "/api/v1/processes/expense/migrations/",
        {"from_version": 1, "to_version": 1},
        "ada",
    ),
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
    (
        "api-request-start",
        lambda w: "/api/v1/requests/",
        {"process_key": "expense", "data": {"amount": 5}},
        "rita",
    ),
    ("api-request-cancel", lambda w: f"/api/v1/requests/{w.approval.pk}/cancel/", {}, "rita"),
    (
        "api-request-comment",
        lambda w: f"/api/v1/requests/{w.approval.pk}/comments/",
        {"body": "hi"},
        "rita",
    ),
    (
        "api-task-comment",
        lambda w: f"/api/v1/tasks/{w.approval_task.pk}/comments/",
        {"body": "hi"},
        "alex",
    ),
    (
        "api-reassign",
        lambda w: f"/api/v1/tasks/{w.approval_task.pk}/reassign/",
        {"username": "alex"},
        "mona",
    ),
    (
        "api-calendar-create",
        lambda w: "/api/v1/calendars/",
        {"slug": "csrf", "name": "CSRF", "time_zone": "UTC", "mon": "09:00-17:00"},
        "ada",
    ),
    (
        "api-substitution",
        lambda w: "/api/v1/substitutions/",
        {
            "substitute": "mona",
            "starts_at": "2026-01-01T09:00:00Z",
            "ends_at": "2036-01-01T09:00:00Z",
        },
        "alex",
    ),
]


def _body(body) -> dict:
    """A form body; a callable makes a fresh one (uploads are read once)."""
    return body() if callable(body) else body


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
        response = client.post(url(world), _body(body))
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
            {**_body(body), "csrfmiddlewaretoken": token},
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


def _routes(patterns, prefix: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.callback


@pytest.mark.corpus("controls")
def test_every_state_changing_page_route_has_a_csrf_row(world):
    """Completeness: each route outside /api/ and /admin/ is either read-only or in ``FORMS``, and
    none is exempt from Django's CSRF check."""
    covered = {resolve(url(world).split("?")[0]).route for _, url, _, _ in FORMS}
    routes = {
        route: view
        for route, view in _routes(get_resolver().url_patterns)
        if not route.startswith(("api/", "admin/"))
    }
    exempt = sorted(route for route, view in routes.items() if getattr(view, "csrf_exempt", False))
    assert exempt == []
    missing = sorted(set(routes) - covered - READ_ONLY_ROUTES)
    assert missing == [], f"state-changing routes without a CSRF row: {missing}"
    stale = sorted(READ_ONLY_ROUTES - set(routes))
    assert stale == [], f"READ_ONLY_ROUTES names routes that no longer exist: {stale}"


@pytest.mark.corpus("controls")
def test_every_api_view_but_the_signed_webhook_enforces_csrf_on_sessions():
    """Every API view authenticates with the defaults (token, then DRF's CSRF-checking session);
    only the webhook receiver, which is signed by HMAC and reads no session, has none."""
    defaults = settings.REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"]
    odd = {}
    for route, view in _routes(get_resolver().url_patterns):
        cls = getattr(view, "cls", None)
        if (
            not route.startswith("api/")
            or cls is None
            or not hasattr(cls, "authentication_classes")
        ):
            continue
        names = [f"{c.__module__}.{c.__name__}" for c in cls.authentication_classes]
        if names != defaults:
            odd[route] = names
    assert odd == {"api/v1/hooks/<int:webhook_id>/": []}
