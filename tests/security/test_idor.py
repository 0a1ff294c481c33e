"""IDOR: every object endpoint, called by signed-in users who have no right to the object.

``mallory`` has no role at all; ``dave`` is a designer (a real role, but not a candidate, starter
or assignee of these objects); ``alex`` is an approver (for what approvers may not read). Each
call gets its specific refusal — 404 where the object's existence is itself private (tasks,
instances, tokens, attachments), 403 where the role is missing — and changes nothing.

To cover a new endpoint, add a row to ``API`` or ``PAGES``: (name, method, url(world), body,
{actor: (status, error code)}).
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.security.conftest import PDF, api_client, page_client
from tests.security.corpus import corpus, refused, unchanged

pytestmark = [pytest.mark.django_db, corpus("IDOR")]

TASK_404 = (404, "task_not_found")
INSTANCE_404 = (404, "instance_not_found")
ROLE_403 = (403, "role_required")
FORBIDDEN = (403, "forbidden")
BOTH = ("mallory", "dave")

API: list[tuple[str, str, object, dict | None, dict]] = [
    (
        "task",
        "get",
        lambda w: f"/api/v1/tasks/{w.approval_task.pk}/",
        None,
        dict.fromkeys(BOTH, TASK_404),
    ),
    (
        "task-claim",
        "post",
        lambda w: f"/api/v1/tasks/{w.approval_task.pk}/claim/",
        None,
        dict.fromkeys(BOTH, TASK_404),
    ),
    (
        "task-unclaim",
        "post",
        lambda w: f"/api/v1/tasks/{w.approval_task.pk}/unclaim/",
        None,
        dict.fromkeys(BOTH, TASK_404),
    ),
    (
        "task-delegate",
        "post",
        lambda w: f"/api/v1/tasks/{w.approval_task.pk}/delegate/",
        {"username": "mallory"},
        dict.fromkeys(BOTH, TASK_404),
    ),
    (
        "task-complete",
        "post",
        lambda w: f"/api/v1/tasks/{w.form_task.pk}/complete/",
        {"data": {"reason": "x"}},
        dict.fromkeys(BOTH, TASK_404),
    ),
    (
        "approval-complete",
        "post",
        lambda w: f"/api/v1/tasks/{w.approval_task.pk}/complete/",
        {"data": {"approved": True}},
        dict.fromkeys(BOTH, TASK_404),
    ),
    (
        "instance",
        "get",
        lambda w: f"/api/v1/instances/{w.approval.pk}/",
        None,
        dict.fromkeys(BOTH, INSTANCE_404),
    ),
    (
        "instance-cancel",
        "post",
        lambda w: f"/api/v1/instances/{w.approval.pk}/cancel/",
        None,
        {**dict.fromkeys(BOTH, INSTANCE_404), "alex": FORBIDDEN},
    ),
    (
        "instance-suspend",
        "post",
        lambda w: f"/api/v1/instances/{w.approval.pk}/suspend/",
        None,
        {**dict.fromkeys(BOTH, INSTANCE_404), "alex": FORBIDDEN},
    ),
    (
        "instance-resume",
        "post",
        lambda w: f"/api/v1/instances/{w.approval.pk}/resume/",
        None,
        {**dict.fromkeys(BOTH, INSTANCE_404), "alex": FORBIDDEN},
    ),
    (
        "version",
        "get",
        lambda w: f"/api/v1/versions/{w.version.pk}/",
        None,
        {"mallory": FORBIDDEN, "alex": FORBIDDEN},
    ),
    (
        "version-xml",
        "get",
        lambda w: f"/api/v1/versions/{w.version.pk}/xml/",
        None,
        {"mallory": FORBIDDEN, "alex": FORBIDDEN},
    ),
    (
        "process-versions",
        "get",
        lambda w: "/api/v1/processes/expense_approval/versions/",
        None,
        {"mallory": FORBIDDEN, "alex": FORBIDDEN},
    ),
    (
        "audit-evidence",
        "get",
        lambda w: f"/api/v1/audit/instances/{w.approval.pk}/evidence/",
        None,
        {**dict.fromkeys(BOTH, ROLE_403), "alex": ROLE_403},
    ),
    (
        "audit-events",
        "get",
        lambda w: f"/api/v1/audit/events/?instance_id={w.approval.pk}",
        None,
        {**dict.fromkeys(BOTH, ROLE_403), "alex": ROLE_403},
    ),
    ("audit-export", "get", lambda w: "/api/v1/audit/export/", None, dict.fromkeys(BOTH, ROLE_403)),
    (
        "audit-verify",
        "post",
        lambda w: "/api/v1/audit/verify/",
        None,
        dict.fromkeys(BOTH, ROLE_403),
    ),
    (
        "token-revoke",
        "delete",
        lambda w: f"/api/v1/tokens/{w.alex_token.pk}/",
        None,
        dict.fromkeys(BOTH, (404, "not_found")),
    ),
    (
        "report-sla",
        "get",
        lambda w: "/api/v1/reports/sla/",
        None,
        {**dict.fromkeys(BOTH, ROLE_403), "alex": ROLE_403},
    ),
    (
        "report-sla-csv",
        "get",
        lambda w: "/api/v1/reports/sla/activities.csv",
        None,
        {**dict.fromkeys(BOTH, ROLE_403), "alex": ROLE_403},
    ),
    (
        "report-slo",
        "get",
        lambda w: "/api/v1/reports/slo/",
        None,
        {**dict.fromkeys(BOTH, ROLE_403), "alex": ROLE_403},
    ),
    (
        "report-slo-set",
        "put",
        lambda w: "/api/v1/reports/slo/expense_approval/",
        {"objective_percent": 99, "target_seconds": 3600, "window_days": 30},
        {**dict.fromkeys(BOTH, ROLE_403), "alex": ROLE_403},
    ),
    (
        "report-sli",
        "get",
        lambda w: "/api/v1/reports/sli/",
        None,
        {**dict.fromkeys(BOTH, ROLE_403), "alex": ROLE_403},
    ),
    (
        "report-heatmap",
        "get",
        lambda w: f"/api/v1/reports/heatmap/{w.version.pk}/",
        None,
        {**dict.fromkeys(BOTH, ROLE_403), "alex": ROLE_403},
    ),
    (
        "report-heatmap-slowest",
        "get",
        lambda w: f"/api/v1/reports/heatmap/{w.version.pk}/slowest/?activity_id=approve",
        None,
        {**dict.fromkeys(BOTH, ROLE_403), "alex": ROLE_403},
    ),
    (
        "report-incident-groups",
        "get",
        lambda w: "/api/v1/reports/incidents/groups/",
        None,
        {**dict.fromkeys(BOTH, ROLE_403), "alex": ROLE_403},
    ),
    (
        "report-incidents-retry",
        "post",
        lambda w: "/api/v1/reports/incidents/retry/",
        {"all": True},
        {**dict.fromkeys(BOTH, ROLE_403), "alex": ROLE_403},
    ),
    (
        "console-search",
        "get",
        lambda w: f"/api/v1/reports/instances/?business_key={w.approval.business_key or ''}",
        None,
        {**dict.fromkeys(BOTH, ROLE_403), "alex": ROLE_403},
    ),
    (
        "console-variable-set",
        "post",
        lambda w: f"/api/v1/reports/instances/{w.approval.pk}/variables/",
        {"name": "amount", "value": 1},
        {**dict.fromkeys(BOTH, ROLE_403), "alex": ROLE_403},
    ),
    (
        "console-token-move",
        "post",
        lambda w: f"/api/v1/instances/{w.approval.pk}/move-token/",
        {"from": "start", "to": "start", "reason": "x", "dry_run": True},
        {**dict.fromkeys(BOTH, ROLE_403), "alex": ROLE_403},
    ),
    (
        "instance-migrate",
        "post",
        lambda w: f"/api/v1/instances/{w.approval.pk}/migrate/",
        {"to_version": 1, "dry_run": True},
        {**dict.fromkeys(BOTH, ROLE_403), "alex": ROLE_403},
    ),
    (
        "process-migrations",
        "post",
        lambda w: "/api/v1/processes/expense/migrations/",
        {"from_version": 1, "to_version": 1, "dry_run": True},
        {**dict.fromkeys(BOTH, ROLE_403), "alex": ROLE_403},
    ),
    (
        "process-viewers",
        "get",
        lambda w: "/api/v1/processes/expense/viewers/",
        None,
        {"mallory": FORBIDDEN, "alex": FORBIDDEN},
    ),
    (
        "process-viewers-grant",
        "post",
        lambda w: "/api/v1/processes/expense/viewers/",
        {"user": "mallory"},
        {"mallory": FORBIDDEN, "alex": FORBIDDEN},
    ),
    (
        # Any designer may test-run any process (designers share the catalogue): the refusal is
        # for everyone without the role.
        "designer-test-run",
        "post",
        lambda w: "/api/v1/processes/expense/test-runs/",
        {},
        {"mallory": ROLE_403, "alex": ROLE_403},
    ),
    ("incidents", "get", lambda w: "/api/v1/incidents/", None, dict.fromkeys(BOTH, FORBIDDEN)),
    (
        "incident-retry",
        "post",
        lambda w: "/api/v1/incidents/1/retry/",
        None,
        {**dict.fromkeys(BOTH, FORBIDDEN), "alex": FORBIDDEN},
    ),
    (
        "webhooks",
        "get",
        lambda w: "/api/v1/processes/expense/webhooks/",
        None,
        {"mallory": FORBIDDEN, "alex": FORBIDDEN},
    ),
    (
        "webhook-create",
        "post",
        lambda w: "/api/v1/processes/expense/webhooks/",
        {"message_name": "go"},
        {"mallory": FORBIDDEN, "alex": FORBIDDEN},
    ),
    (
        "secret-delete",
        "delete",
        lambda w: "/api/v1/secrets/smtp/",
        None,
        dict.fromkeys(BOTH, ROLE_403),
    ),
    ("secrets", "get", lambda w: "/api/v1/secrets/", None, dict.fromkeys(BOTH, ROLE_403)),
    (
        "task-attach",
        "post",
        lambda w: f"/api/v1/tasks/{w.approval_task.pk}/attachments/",
        lambda: {"file": SimpleUploadedFile("x.pdf", PDF, content_type="application/pdf")},
        dict.fromkeys(BOTH, TASK_404),
    ),
    (
        "task-comment",
        "post",
        lambda w: f"/api/v1/tasks/{w.approval_task.pk}/comments/",
        {"body": "mine now"},
        dict.fromkeys(BOTH, TASK_404),
    ),
    (
        "request-comment",
        "post",
        lambda w: f"/api/v1/requests/{w.approval.pk}/comments/",
        {"body": "mine now"},
        dict.fromkeys(BOTH, (404, "request_not_found")),
    ),
]

PAGES: list[tuple[str, str, object, dict | None, dict]] = [
    (
        "task-page",
        "get",
        lambda w: f"/inbox/tasks/{w.approval_task.pk}/",
        None,
        dict.fromkeys(BOTH, 404),
    ),
    (
        "task-claim-form",
        "post",
        lambda w: f"/inbox/tasks/{w.approval_task.pk}/claim/",
        {},
        dict.fromkeys(BOTH, 404),
    ),
    (
        "task-unclaim-form",
        "post",
        lambda w: f"/inbox/tasks/{w.approval_task.pk}/unclaim/",
        {},
        dict.fromkeys(BOTH, 404),
    ),
    (
        "task-delegate-form",
        "post",
        lambda w: f"/inbox/tasks/{w.approval_task.pk}/delegate/",
        {"username": "mallory"},
        dict.fromkeys(BOTH, 404),
    ),
    (
        "task-decide-form",
        "post",
        lambda w: f"/inbox/tasks/{w.approval_task.pk}/decide/",
        {"decision": "approve"},
        dict.fromkeys(BOTH, 404),
    ),
    (
        "instance-page",
        "get",
        lambda w: f"/inbox/instances/{w.approval.pk}/",
        None,
        dict.fromkeys(BOTH, 404),
    ),
    (
        "instance-cancel-form",
        "post",
        lambda w: f"/inbox/instances/{w.approval.pk}/cancel/",
        {},
        {**dict.fromkeys(BOTH, 404), "alex": 403},
    ),
    (
        "instance-suspend-form",
        "post",
        lambda w: f"/inbox/instances/{w.approval.pk}/suspend/",
        {},
        {**dict.fromkeys(BOTH, 404), "alex": 403},
    ),
    (
        "audit-timeline",
        "get",
        lambda w: f"/admin-reports/audit/instances/{w.approval.pk}/",
        None,
        {**dict.fromkeys(BOTH, 403), "alex": 403},
    ),
    (
        "audit-evidence-zip",
        "get",
        lambda w: f"/admin-reports/audit/instances/{w.approval.pk}/evidence.zip",
        None,
        {**dict.fromkeys(BOTH, 403), "alex": 403},
    ),
    (
        "audit-export-csv",
        "get",
        lambda w: "/admin-reports/audit/export.csv",
        None,
        dict.fromkeys(BOTH, 403),
    ),
    (
        "token-revoke-form",
        "post",
        lambda w: f"/accounts/profile/tokens/{w.alex_token.pk}/revoke/",
        {},
        dict.fromkeys(BOTH, 404),
    ),
    (
        "designer-xml",
        "get",
        lambda w: "/designer/expense/xml/",
        None,
        {"mallory": 403, "alex": 403},
    ),
    (
        "incident-retry-form",
        "post",
        lambda w: "/admin-reports/incidents/1/retry/",
        {},
        dict.fromkeys(BOTH, 403),
    ),
    (
        "task-attach-form",
        "post",
        lambda w: f"/inbox/tasks/{w.approval_task.pk}/attach/",
        lambda: {"file": SimpleUploadedFile("x.pdf", PDF, content_type="application/pdf")},
        dict.fromkeys(BOTH, 404),
    ),
    (
        "attachment-download",
        "get",
        lambda w: f"/inbox/requests/{w.approval.pk}/files/{w.receipt.pk}/",
        None,
        dict.fromkeys(BOTH, 404),
    ),
    (
        # The right instance of the wrong file: a file is reached only through its own request.
        "attachment-of-another-request",
        "get",
        lambda w: f"/inbox/requests/{w.form.pk}/files/{w.receipt.pk}/",
        None,
        {"rita": 404, **dict.fromkeys(BOTH, 404)},
    ),
    (
        "report-slo-page",
        "get",
        lambda w: "/admin-reports/slo/",
        None,
        {**dict.fromkeys(BOTH, 403), "alex": 403},
    ),
    (
        "report-heatmap-page",
        "get",
        lambda w: "/admin-reports/heatmap/",
        None,
        {**dict.fromkeys(BOTH, 403), "alex": 403},
    ),
    (
        "console-instance-page",
        "get",
        lambda w: f"/admin-reports/instances/{w.approval.pk}/",
        None,
        {**dict.fromkeys(BOTH, 403), "alex": 403},
    ),
    (
        "console-variable-form",
        "post",
        lambda w: f"/admin-reports/instances/{w.approval.pk}/variable/",
        {"name": "amount", "value": "1"},
        {**dict.fromkeys(BOTH, 403), "alex": 403, "mona": 403},
    ),
    (
        "console-cancel-form",
        "post",
        lambda w: f"/admin-reports/instances/{w.approval.pk}/cancel/",
        {"reason": "x"},
        {**dict.fromkeys(BOTH, 403), "alex": 403, "audrey": 403},
    ),
    (
        "designer-share-form",
        "post",
        lambda w: "/designer/expense/viewers/",
        {"user": "mallory"},
        {"mallory": 403, "alex": 403},
    ),
    (
        "report-sla-page",
        "get",
        lambda w: "/admin-reports/sla/",
        None,
        {**dict.fromkeys(BOTH, 403), "alex": 403},
    ),
]


def _cases(table):
    return [
        pytest.param(method, url, body, actor, expected, id=f"{name}-{actor}")
        for name, method, url, body, by_actor in table
        for actor, expected in by_actor.items()
    ]


@pytest.mark.parametrize(("method", "url", "body", "actor", "expected"), _cases(API))
def test_api_object_endpoint_refuses_a_user_without_rights(
    world, method, url, body, actor, expected
):
    client = api_client(getattr(world.people, actor))
    with unchanged():
        if body is None:
            response = getattr(client, method)(url(world))
        elif callable(body):  # a multipart upload, made fresh for each call
            response = getattr(client, method)(url(world), body(), format="multipart")
        else:
            response = getattr(client, method)(url(world), body, format="json")
    refused(response, *expected)


@pytest.mark.parametrize(("method", "url", "body", "actor", "expected"), _cases(PAGES))
def test_page_object_endpoint_refuses_a_user_without_rights(
    world, method, url, body, actor, expected
):
    client = page_client(getattr(world.people, actor))
    with unchanged():
        if body is None:
            response = getattr(client, method)(url(world))
        else:
            response = getattr(client, method)(url(world), body() if callable(body) else body)
    refused(response, expected)


@pytest.mark.parametrize("actor", BOTH)
@pytest.mark.parametrize("path", ["/api/v1/tasks/", "/api/v1/instances/"])
def test_lists_show_a_user_without_rights_nothing(world, path, actor):
    client = api_client(getattr(world.people, actor))
    with unchanged():
        response = client.get(path)
    refused(response, 200)
    assert response.json()["count"] == 0


@pytest.mark.parametrize("actor", ["mallory", "alex"])
def test_the_process_list_shows_a_user_without_a_grant_nothing(world, actor):
    """Designers share the catalogue; anyone else sees only processes shared with them."""
    client = api_client(getattr(world.people, actor))
    with unchanged():
        response = client.get("/api/v1/processes/")
    refused(response, 200)
    assert response.json()["count"] == 0
