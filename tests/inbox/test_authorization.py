"""Every inbox and request endpoint and page, called by: anonymous, a wrong role, the right role,
the assignee and the requester (four-eyes). A denied request changes nothing."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from apps.audit.models import AuditEvent
from apps.engine.models import ProcessInstance
from apps.inbox.models import HumanTask, Substitution, TaskAttachment, TaskComment
from tests.inbox.conftest import open_task, start

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene(deploy_inbox, people, make_user, settings, tmp_path):
    """requester's expense waits on the manager role; boss's own expense (four-eyes);
    a purchase task claimed by approver1 (the assignee)."""
    settings.MEDIA_ROOT = str(tmp_path)
    make_user("manager", username="boss2")  # another manager: someone eligible to hand to
    deploy_inbox("expense.bpmn")
    deploy_inbox("two_step.bpmn")
    theirs = start("expense_approval", people["requester"], amount=2000, description="a")
    own = start("expense_approval", people["manager"], amount=2000, description="b")
    purchase = start("purchase", people["manager"], cost_owner="nobody")
    claimed = open_task(purchase)
    from apps.common.actors import Actor
    from apps.inbox import services

    services.task_claim(
        task_id=claimed.pk, user=people["approver"], actor=Actor.for_user(people["approver"])
    )
    return {
        "task": open_task(theirs).pk,
        "own": open_task(own).pk,
        "claimed": claimed.pk,
        "request": theirs.pk,
        "purchase": purchase.pk,
    }


def snapshot():
    return (
        list(
            HumanTask.objects.order_by("pk").values_list(
                "pk",
                "status",
                "assignee_id",
                "owner_id",
                "delegation",
                "completed_by_id",
                "candidate_groups",
            )
        ),
        AuditEvent.objects.count(),
        list(ProcessInstance.objects.order_by("pk").values_list("pk", "status")),
        TaskComment.objects.count(),
        TaskAttachment.objects.count(),
        Substitution.objects.count(),
    )


def api(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def call(client, method, path, body=None):
    if method == "get":
        return client.get(path)
    if body == "file":
        upload = SimpleUploadedFile("a.txt", b"hi", content_type="text/plain")
        return client.post(path, {"file": upload}, format="multipart")
    return getattr(client, method)(path, body or {}, format="json")


APPROVE = {"data": {"approved": True}}
# (method, path, body, expected status per caller: anonymous, outsider, right role)
WRITES = [
    ("post", "/api/v1/tasks/{task}/claim/", None),
    ("post", "/api/v1/tasks/{task}/unclaim/", None),
    ("post", "/api/v1/tasks/{task}/delegate/", {"username": "approver2"}),
    ("post", "/api/v1/tasks/{task}/reassign/", {"username": "approver2"}),
    ("post", "/api/v1/tasks/{task}/complete/", APPROVE),
    ("post", "/api/v1/tasks/{task}/comments/", {"body": "hello"}),
    ("post", "/api/v1/tasks/{task}/attachments/", "file"),
    ("post", "/api/v1/requests/{request}/cancel/", None),
    ("post", "/api/v1/requests/{request}/comments/", {"body": "hello"}),
]
READS = [
    "/api/v1/tasks/{task}/",
    "/api/v1/requests/{request}/",
]
EVERYONE = [
    ("get", "/api/v1/tasks/", None),
    ("get", "/api/v1/tasks/counts/", None),
    ("get", "/api/v1/tasks/events/", None),
    ("get", "/api/v1/requests/", None),
    ("get", "/api/v1/requests/catalog/", None),
    ("post", "/api/v1/requests/", {"process_key": "expense_approval", "data": {}}),
    ("post", "/api/v1/tasks/bulk-approve/", {"task_ids": [1]}),
    ("get", "/api/v1/substitutions/", None),
    ("post", "/api/v1/substitutions/", {}),
    ("put", "/api/v1/notification-settings/", {}),
]


@pytest.mark.parametrize(
    ("method", "path", "body"), WRITES + [("get", p, None) for p in READS] + EVERYONE
)
def test_anonymous_gets_401_and_changes_nothing(scene, method, path, body):
    before = snapshot()
    response = call(api(None), method, path.format(**scene), body)
    assert response.status_code == 401
    assert snapshot() == before


@pytest.mark.parametrize(("method", "path", "body"), WRITES + [("get", p, None) for p in READS])
def test_a_wrong_role_gets_404_and_changes_nothing(scene, people, method, path, body):
    before = snapshot()
    response = call(api(people["outsider"]), method, path.format(**scene), body)
    assert response.status_code == 404, response.content
    assert snapshot() == before


def test_a_wrong_role_sees_no_tasks_and_bulk_approves_nothing(scene, people):
    client = api(people["outsider"])
    assert client.get("/api/v1/tasks/").json()["count"] == 0
    before = snapshot()
    results = client.post(
        "/api/v1/tasks/bulk-approve/",
        {"task_ids": [scene["task"], scene["claimed"]]},
        format="json",
    ).json()
    assert [r["ok"] for r in results] == [False, False]
    assert snapshot() == before


def test_a_wrong_role_cannot_start_a_process_reserved_for_another(scene, people):
    before = snapshot()
    response = api(people["requester"]).post(
        "/api/v1/requests/", {"process_key": "purchase", "data": {}}, format="json"
    )
    assert response.status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("get", "/api/v1/tasks/{task}/", None, 200),
        ("post", "/api/v1/tasks/{task}/claim/", None, 200),
        ("post", "/api/v1/tasks/{task}/complete/", APPROVE, 200),
        ("post", "/api/v1/tasks/{task}/comments/", {"body": "ok"}, 201),
        ("post", "/api/v1/tasks/{task}/attachments/", "file", 201),
        ("post", "/api/v1/tasks/{task}/delegate/", {"username": "boss2"}, 200),
        ("post", "/api/v1/tasks/{task}/reassign/", {"username": "boss2"}, 200),
        ("get", "/api/v1/requests/{request}/", None, 200),
    ],
)
def test_the_right_role_may(scene, people, method, path, body, status):
    response = call(api(people["manager"]), method, path.format(**scene), body)
    assert response.status_code == status, response.content


def test_a_candidate_who_is_not_the_assignee_is_refused_and_nothing_changes(scene, people):
    other = api(people["approver2"])
    before = snapshot()
    assert other.post(f"/api/v1/tasks/{scene['claimed']}/unclaim/").status_code == 403
    assert other.post(f"/api/v1/tasks/{scene['claimed']}/claim/").status_code == 409
    assert (
        other.post(
            f"/api/v1/tasks/{scene['claimed']}/complete/", APPROVE, format="json"
        ).status_code
        == 409
    )
    assert (
        other.post(
            f"/api/v1/tasks/{scene['claimed']}/reassign/", {"username": "approver2"}
        ).status_code
        == 403
    )
    assert snapshot() == before


def test_the_assignee_may(scene, people):
    assignee = api(people["approver"])
    assert assignee.post(f"/api/v1/tasks/{scene['claimed']}/unclaim/").status_code == 200
    assert assignee.post(f"/api/v1/tasks/{scene['claimed']}/claim/").status_code == 200
    response = assignee.post(f"/api/v1/tasks/{scene['claimed']}/complete/", APPROVE, format="json")
    assert response.status_code == 200 and response.json()["completed_at"]


def test_the_requester_may_not_approve_their_own_request(scene, people):
    boss = api(people["manager"])
    before = snapshot()
    response = boss.post(f"/api/v1/tasks/{scene['own']}/complete/", APPROVE, format="json")
    assert response.status_code == 403 and response.json()["error"] == "four_eyes"
    bulk = boss.post("/api/v1/tasks/bulk-approve/", {"task_ids": [scene["own"]]}, format="json")
    assert bulk.json()[0]["ok"] is False
    assert snapshot() == before


def test_the_requester_sees_and_may_withdraw_their_request_but_not_the_task(scene, people):
    requester = api(people["requester"])
    assert requester.get(f"/api/v1/requests/{scene['request']}/").status_code == 200
    assert requester.get(f"/api/v1/tasks/{scene['task']}/").status_code == 404
    assert requester.post(f"/api/v1/requests/{scene['request']}/cancel/").status_code == 200


# --- pages ------------------------------------------------------------------------------------

PAGES = [
    "/inbox/",
    "/inbox/counts/",
    "/inbox/settings/",
    "/inbox/tasks/{task}/",
    "/requests/",
    "/requests/new/",
    "/requests/new/expense_approval/",
    "/requests/{request}/",
]
PAGE_POSTS = [
    "/inbox/tasks/{task}/claim/",
    "/inbox/tasks/{task}/unclaim/",
    "/inbox/tasks/{task}/delegate/",
    "/inbox/tasks/{task}/reassign/",
    "/inbox/tasks/{task}/decide/",
    "/inbox/tasks/{task}/comment/",
    "/inbox/tasks/{task}/attach/",
    "/inbox/bulk-approve/",
    "/requests/{request}/cancel/",
    "/requests/{request}/comment/",
]


@pytest.mark.parametrize("path", PAGES + PAGE_POSTS)
def test_pages_send_anonymous_to_login_and_change_nothing(scene, path):
    before = snapshot()
    client = Client()
    response = (
        client.post(path.format(**scene), {"decision": "approve", "task": scene["task"]})
        if path in PAGE_POSTS
        else client.get(path.format(**scene))
    )
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert snapshot() == before


@pytest.mark.parametrize(
    "path",
    [
        "/inbox/tasks/{task}/",
        "/requests/{request}/",
        "/inbox/tasks/{task}/claim/",
        "/inbox/tasks/{task}/decide/",
        "/inbox/tasks/{task}/comment/",
        "/inbox/tasks/{task}/attach/",
        "/requests/{request}/comment/",
    ],
)
def test_pages_hide_what_a_wrong_role_may_not_see(scene, people, path):
    client = Client()
    client.force_login(people["outsider"])
    before = snapshot()
    url = path.format(**scene)
    response = (
        client.get(url)
        if url.endswith(f"{scene['task']}/") or url.endswith(f"{scene['request']}/")
        else client.post(url, {"decision": "approve", "body": "x"})
    )
    assert response.status_code in (302, 404)
    if response.status_code == 302:  # run_action: a flashed error, back to the task page
        assert client.get(response["Location"]).status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize("path", PAGES)
def test_pages_render_for_the_right_role(scene, people, path):
    client = Client()
    client.force_login(people["manager"])
    assert (
        client.get(
            path.format(**scene).replace(str(scene["request"]), str(scene["purchase"]))
        ).status_code
        == 200
    )


def test_count_badges_count_only_what_the_user_may_see(scene, people):
    def badge(who: str) -> str:
        client = Client()
        client.force_login(people[who])
        html = client.get("/inbox/counts/").content.decode()
        return html.split('data-count="all">', 1)[1].split("<", 1)[0]

    assert badge("outsider") == "0"
    assert int(badge("manager")) >= 1


def test_an_auditor_reads_requests_but_changes_nothing(scene, people):
    auditor = api(people["auditor"])
    assert auditor.get(f"/api/v1/requests/{scene['request']}/").status_code == 200
    before = snapshot()
    assert (
        auditor.post(f"/api/v1/requests/{scene['request']}/comments/", {"body": "x"}).status_code
        == 404
    )
    assert auditor.post(f"/api/v1/requests/{scene['request']}/cancel/").status_code == 404
    assert (
        auditor.post(f"/api/v1/tasks/{scene['task']}/complete/", APPROVE, format="json").status_code
        == 404
    )
    assert snapshot() == before
