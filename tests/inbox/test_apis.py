"""The inbox and request API: filters, actions, the live feed, requests, settings."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from apps.engine.models import ProcessInstance
from apps.inbox.models import HumanTask, InboxEvent, Substitution
from tests.api.helpers import assert_error
from tests.inbox.conftest import open_task, start

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def world(deploy_inbox, people):
    deploy_inbox("expense.bpmn")
    deploy_inbox("two_step.bpmn")
    instances = [
        start("expense_approval", people["requester"], amount=2000 + i, description=f"item {i}")
        for i in range(3)
    ]
    return instances, [open_task(i) for i in instances]


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_task_list_filters_sorts_and_searches(world, people):
    instances, tasks = world
    boss = client_for(people["manager"])
    assert ids(boss.get("/api/v1/tasks/")) == [t.pk for t in reversed(tasks)]
    assert ids(boss.get("/api/v1/tasks/?sort=age")) == [t.pk for t in tasks]
    HumanTask.objects.filter(pk=tasks[1].pk).update(priority=90)
    assert ids(boss.get("/api/v1/tasks/?sort=priority"))[0] == tasks[1].pk
    boss.post(f"/api/v1/tasks/{tasks[0].pk}/claim/")
    assert ids(boss.get("/api/v1/tasks/?view=mine")) == [tasks[0].pk]
    assert ids(boss.get("/api/v1/tasks/?view=roles")) == [tasks[2].pk, tasks[1].pk]
    HumanTask.objects.filter(pk=tasks[2].pk).update(due_at=timezone.now() - timedelta(minutes=1))
    HumanTask.objects.filter(pk=tasks[1].pk).update(
        sla_warning_at=timezone.now() - timedelta(minutes=1)
    )
    assert ids(boss.get("/api/v1/tasks/?view=overdue")) == [tasks[2].pk]
    assert ids(boss.get("/api/v1/tasks/?view=at_risk")) == [tasks[1].pk]
    assert ids(boss.get("/api/v1/tasks/?sort=due"))[0] == tasks[2].pk
    ProcessInstance.objects.filter(pk=instances[1].pk).update(business_key="INV-77")
    assert ids(boss.get("/api/v1/tasks/?search=inv-77")) == [tasks[1].pk]
    counts = boss.get("/api/v1/tasks/counts/").json()
    assert counts == {"all": 3, "mine": 1, "roles": 2, "delegated": 0, "overdue": 1, "at_risk": 1}
    assert_error(boss.get("/api/v1/tasks/?view=everything"), 400, "invalid_filter")
    assert_error(boss.get("/api/v1/tasks/?sort=random"), 400, "invalid_filter")


def test_pagination(world, people):
    _, tasks = world
    boss = client_for(people["manager"])
    body = boss.get("/api/v1/tasks/?page_size=2").json()
    assert body["count"] == 3 and len(body["results"]) == 2


def test_complete_via_api_and_completed_by_me(world, people):
    _, tasks = world
    boss = client_for(people["manager"])
    response = boss.post(
        f"/api/v1/tasks/{tasks[0].pk}/complete/", {"data": {"approved": True}}, format="json"
    )
    assert response.status_code == 200 and response.json()["outcome"] == "approved"
    assert ids(boss.get("/api/v1/tasks/?view=completed")) == [tasks[0].pk]
    again = boss.post(
        f"/api/v1/tasks/{tasks[0].pk}/complete/", {"data": {"approved": True}}, format="json"
    )
    assert_error(again, 409, "task_not_open")
    reject = boss.post(
        f"/api/v1/tasks/{tasks[1].pk}/complete/", {"data": {"approved": False}}, format="json"
    )
    body = assert_error(reject, 400, "comment_required")
    assert body["details"] == [{"field": "comment", "message": "A comment is required to reject."}]


def test_global_permission_does_not_leak_tasks(world, make_user):
    user = make_user("auditor", username="global-perm")
    user.user_permissions.add(Permission.objects.get(codename="work_humantask"))
    user.user_permissions.add(Permission.objects.get(codename="view_humantask"))
    assert ids(client_for(user).get("/api/v1/tasks/")) == []
    _, tasks = world
    assert_error(client_for(user).get(f"/api/v1/tasks/{tasks[0].pk}/"), 404, "task_not_found")


def test_delegate_reassign_comment_attach_bulk(world, people, settings, tmp_path, make_user):
    settings.MEDIA_ROOT = str(tmp_path)
    _, tasks = world
    deputy = make_user("manager", username="deputy1")  # eligible: the tasks are the managers'
    make_user("manager", username="deputy2")
    boss = client_for(people["manager"])
    response = boss.post(f"/api/v1/tasks/{tasks[0].pk}/delegate/", {"username": "deputy1"})
    assert response.json()["assignee"] == "deputy1" and response.json()["owner"] == "boss"
    assert ids(client_for(deputy).get("/api/v1/tasks/?view=delegated")) == [tasks[0].pk]
    response = boss.post(f"/api/v1/tasks/{tasks[1].pk}/reassign/", {"username": "deputy2"})
    assert response.json()["assignee"] == "deputy2"
    assert_error(
        boss.post(f"/api/v1/tasks/{tasks[1].pk}/reassign/", {"username": "ghost"}),
        400,
        "unknown_user",
    )
    response = boss.post(f"/api/v1/tasks/{tasks[2].pk}/comments/", {"body": "Checking"})
    assert response.status_code == 201 and response.json()["body"] == "Checking"
    upload = boss.post(
        f"/api/v1/tasks/{tasks[2].pk}/attachments/",
        {"file": SimpleUploadedFile("note.txt", b"hello", content_type="text/plain")},
        format="multipart",
    )
    assert upload.status_code == 201 and upload.json()["size"] == 5
    bulk = boss.post(
        "/api/v1/tasks/bulk-approve/", {"task_ids": [tasks[2].pk, tasks[1].pk]}, format="json"
    )
    assert [(r["task_id"], r["ok"]) for r in bulk.json()] == [
        (tasks[2].pk, True),
        (tasks[1].pk, False),
    ]


def test_events_feed_since(world, people, make_user):
    _, tasks = world
    boss = client_for(people["manager"])
    first = boss.get("/api/v1/tasks/events/").json()
    assert first == {"last": InboxEvent.objects.order_by("-pk").first().pk, "events": []}
    since = first["last"]
    boss.post(f"/api/v1/tasks/{tasks[0].pk}/claim/")
    body = boss.get(f"/api/v1/tasks/events/?since={since}").json()
    assert [(e["task"], e["kind"]) for e in body["events"]] == [(tasks[0].pk, "claimed")]
    outsider = client_for(people["outsider"])
    assert outsider.get(f"/api/v1/tasks/events/?since={since}").json()["events"] == []
    assert_error(boss.get("/api/v1/tasks/events/?since=abc"), 400, "invalid_filter")


def test_catalog_by_role_grouped_and_searchable(world, people):
    requester = client_for(people["requester"])
    assert [e["key"] for e in requester.get("/api/v1/requests/catalog/").json()] == [
        "expense_approval"
    ]
    boss = client_for(people["manager"])
    entries = boss.get("/api/v1/requests/catalog/").json()
    assert [(e["category"], e["key"]) for e in entries] == [
        ("Finance", "expense_approval"),
        ("Procurement", "purchase"),
    ]
    assert entries[0]["description"] == "Get an expense approved and booked."
    assert [c["key"] for c in entries[0]["start_form"]["components"]] == ["amount", "description"]
    assert [e["key"] for e in boss.get("/api/v1/requests/catalog/?search=procure").json()] == [
        "purchase"
    ]


def test_start_a_request_once_per_idempotency_key(world, people):
    requester = client_for(people["requester"])
    before = ProcessInstance.objects.count()
    body = {"process_key": "expense_approval", "data": {"amount": 4000, "description": "Chair"}}
    first = requester.post("/api/v1/requests/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    second = requester.post("/api/v1/requests/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201 and second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert first.json()["url"] == f"/requests/{first.json()['id']}/"
    assert ProcessInstance.objects.count() == before + 1
    bad = requester.post(
        "/api/v1/requests/",
        {"process_key": "expense_approval", "data": {"amount": 4000}},
        format="json",
    )
    body = assert_error(bad, 400, "invalid_form")
    assert body["details"] == [{"field": "description", "message": "Description is required."}]
    forbidden = requester.post("/api/v1/requests/", {"process_key": "purchase"}, format="json")
    assert_error(forbidden, 404, "process_not_found")
    assert ProcessInstance.objects.count() == before + 1


def test_my_requests_detail_and_cancel(world, people):
    instances, tasks = world
    requester = client_for(people["requester"])
    listing = requester.get("/api/v1/requests/").json()
    assert [r["id"] for r in listing["results"]] == [i.pk for i in reversed(instances)]
    detail = requester.get(f"/api/v1/requests/{instances[0].pk}/").json()
    assert detail["status"] == "running" and detail["cancellable"] is True
    assert detail["current_steps"][0]["activity_id"] == "manager_approval"
    assert detail["current_steps"][0]["holder"] == "manager"
    assert sorted(h["action"] for h in detail["history"]) == ["instance.started", "task.created"]
    comment = requester.post(f"/api/v1/requests/{instances[0].pk}/comments/", {"body": "Urgent"})
    assert comment.status_code == 201
    cancelled = requester.post(f"/api/v1/requests/{instances[0].pk}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert_error(
        requester.post(f"/api/v1/requests/{instances[0].pk}/cancel/"), 409, "request_ended"
    )
    other = client_for(people["approver2"])
    assert_error(other.get(f"/api/v1/requests/{instances[1].pk}/"), 404, "request_not_found")
    assert_error(
        other.post(f"/api/v1/requests/{instances[1].pk}/cancel/"), 404, "request_not_found"
    )


def test_cancel_refused_where_the_model_forbids(world, people):
    boss = client_for(people["manager"])
    started = boss.post(
        "/api/v1/requests/", {"process_key": "purchase", "data": {"cost_owner": "x"}}, format="json"
    ).json()
    assert_error(boss.post(f"/api/v1/requests/{started['id']}/cancel/"), 403, "not_cancellable")


def test_substitutions_and_notification_settings(people):
    boss = client_for(people["manager"])
    now = timezone.now()
    created = boss.post(
        "/api/v1/substitutions/",
        {
            "substitute": "approver1",
            "starts_at": now.isoformat(),
            "ends_at": (now + timedelta(days=2)).isoformat(),
        },
        format="json",
    )
    assert created.status_code == 201 and created.json()["substitute"] == "approver1"
    assert [s["id"] for s in boss.get("/api/v1/substitutions/").json()] == [created.json()["id"]]
    assert boss.post(f"/api/v1/substitutions/{created.json()['id']}/end/").status_code == 200
    assert_error(
        boss.post(
            "/api/v1/substitutions/",
            {"substitute": "boss", "starts_at": now.isoformat(), "ends_at": now.isoformat()},
            format="json",
        ),
        400,
        "substitute_self",
    )
    assert Substitution.objects.count() == 1
    prefs = boss.put(
        "/api/v1/notification-settings/",
        {"email_on_assignment": False, "email_on_escalation": True},
        format="json",
    )
    assert prefs.json() == {"email_on_assignment": False, "email_on_escalation": True}


def test_both_visibility_strategies_give_the_same_inbox(world, people, monkeypatch, make_user):
    """Few grants: driven from the grants; many: probed row by row. Same answer."""
    from apps.accounts import permissions

    _, tasks = world
    cast = {**people, "deputy": make_user("manager", username="deputy")}
    boss = client_for(people["manager"])
    boss.post(f"/api/v1/tasks/{tasks[1].pk}/delegate/", {"username": "deputy"})
    few = {
        who: ids(client_for(cast[who]).get("/api/v1/tasks/?sort=age"))
        for who in ("manager", "deputy", "approver", "outsider")
    }
    monkeypatch.setattr(permissions, "FEW_GRANTS", 0)
    many = {
        who: ids(client_for(cast[who]).get("/api/v1/tasks/?sort=age"))
        for who in ("manager", "deputy", "approver", "outsider")
    }
    assert few == many
    assert few == {
        "manager": [tasks[0].pk, tasks[2].pk],
        "deputy": [tasks[0].pk, tasks[1].pk, tasks[2].pk],
        "approver": [],
        "outsider": [],
    }
