"""POST /api/v1/instances/{id}/migrate/ and /api/v1/processes/{key}/migrations/: operators only,
refusals as specific 4xx, nothing changed when access is denied."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.audit.models import AuditEvent
from apps.common.actors import Actor
from apps.engine import operator_services
from apps.engine import services as engine
from apps.engine.models import ProcessInstance
from apps.processes.models import ProcessVersion
from tests.api.helpers import assert_error, token_client, token_for
from tests.engine.conftest import deploy  # noqa: F401 - shared fixture

pytestmark = pytest.mark.django_db(transaction=True)
RENAMED = {"review": "check"}


@pytest.fixture
def waiting(deploy):  # noqa: F811
    deploy("migrate_v1.bpmn")
    deploy("migrate_v2.bpmn")
    v1 = ProcessVersion.objects.get(definition__key="leave", number=1)
    return engine.instance_start(version=v1, variables={"days": 2}, actor=Actor.system("t"))


def client_for(make_user, *roles) -> APIClient:
    _, key = token_for(make_user(*roles))
    return token_client(key)


def version_of(instance) -> int:
    return ProcessInstance.objects.get(pk=instance.pk).version.number


@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("/api/v1/instances/{id}/migrate/", {"to_version": 2, "mapping": RENAMED}),
        (
            "/api/v1/processes/leave/migrations/",
            {"from_version": 1, "to_version": 2, "mapping": RENAMED},
        ),
    ],
)
def test_only_operators_may_migrate_and_a_refusal_changes_nothing(waiting, make_user, url, body):
    url = url.format(id=waiting.pk)
    assert_error(APIClient().post(url, body, format="json"), 401, "not_authenticated")
    for roles in [(), ("approver",), ("designer",), ("auditor",)]:
        response = client_for(make_user, *roles).post(url, body, format="json")
        assert_error(response, 403, "role_required")
    assert version_of(waiting) == 1
    assert not AuditEvent.objects.filter(action="instance.migrated").exists()

    response = client_for(make_user, "manager").post(url, body, format="json")
    if "/processes/" in url:  # a batch is queued for a worker: 202, then the worker moves it
        assert response.status_code == 202, response.content
        assert (response.json()["status"], response.json()["total"]) == ("queued", 1)
        operator_services.migration_run_execute(run_id=response.json()["id"])
    else:
        assert response.status_code == 200, response.content
    assert version_of(waiting) == 2
    assert AuditEvent.objects.filter(action="instance.migrated").count() == 1


def test_a_batch_run_reports_progress_and_the_final_report(waiting, make_user):
    client = client_for(make_user, "admin")
    queued = client.post(
        "/api/v1/processes/leave/migrations/",
        {
            "from_version": 1,
            "to_version": 2,
            "mapping": RENAMED,
            "instance_ids": [waiting.pk, 999999],
        },
        format="json",
    ).json()
    url = f"/api/v1/migrations/{queued['id']}/"
    before = client.get(url).json()
    assert (before["status"], before["done"], before["total"]) == ("queued", 0, 2)
    operator_services.migration_run_execute(run_id=queued["id"])
    operator_services.migration_run_execute(
        run_id=queued["id"]
    )  # a second delivery changes nothing
    after = client.get(url).json()
    assert (after["status"], after["done"], after["moved"], after["refused"]) == (
        "finished",
        2,
        1,
        1,
    )
    assert [(r["instance_id"], r["moved"]) for r in after["report"]] == [
        (waiting.pk, True),
        (999999, False),
    ]
    assert after["report"][1]["problems"][0]["code"] == "not_found"
    assert AuditEvent.objects.filter(action="instance.migrated").count() == 1
    assert_error(client_for(make_user, "approver").get(url), 403, "role_required")
    assert_error(client.get("/api/v1/migrations/424242/"), 404, "not_found")


def test_the_dry_run_report_names_what_blocks_and_the_real_run_is_a_409(waiting, make_user):
    client = client_for(make_user, "admin")
    url = f"/api/v1/instances/{waiting.pk}/migrate/"
    dry = client.post(url, {"to_version": 2, "dry_run": True}, format="json")
    assert dry.status_code == 200
    assert dry.json()["can_move"] is False
    assert dry.json()["problems"] == [
        {
            "activity_id": "review",
            "code": "unmapped",
            "message": "The active element 'review' has no counterpart in the new version: map "
            "it to an element of the new version.",
        }
    ]
    body = assert_error(
        client.post(url, {"to_version": 2}, format="json"), 409, "migration_refused"
    )
    assert [d["code"] for d in body["details"]] == ["unmapped"]
    assert version_of(waiting) == 1


def test_bad_input_is_a_specific_4xx(waiting, make_user):
    client = client_for(make_user, "admin")
    url = f"/api/v1/instances/{waiting.pk}/migrate/"
    assert_error(client.post(url, {"to_version": 9}, format="json"), 404, "not_found")
    assert_error(client.post(url, {"mapping": RENAMED}, format="json"), 400, "invalid")
    assert_error(
        client.post(url, {"to_version": 2, "mapping": ["x"]}, format="json"), 400, "invalid"
    )
    assert_error(
        client.post("/api/v1/instances/999999/migrate/", {"to_version": 2}, format="json"),
        404,
        "not_found",
    )
    batch = "/api/v1/processes/nope/migrations/"
    assert_error(
        client.post(batch, {"from_version": 1, "to_version": 2}, format="json"), 404, "not_found"
    )


def test_a_batch_reports_per_instance(waiting, make_user):
    client = client_for(make_user, "manager")
    response = client.post(
        "/api/v1/processes/leave/migrations/",
        {"from_version": 1, "to_version": 2, "mapping": RENAMED, "dry_run": True},
        format="json",
    )
    assert response.status_code == 200
    report = response.json()
    assert (report["movable"], report["moved"], report["refused"]) == (1, 0, 0)
    [item] = report["instances"]
    assert (item["instance_id"], item["can_move"]) == (waiting.pk, True)
    assert version_of(waiting) == 1


def test_the_migrations_list_is_paginated_filtered_and_for_operators_only(waiting, make_user):
    manager = make_user("manager")
    first = operator_services.migration_run_start(
        process_key="leave", from_version=1, to_version=2, mapping=RENAMED, user=manager
    )
    second = operator_services.migration_run_start(
        process_key="leave", from_version=1, to_version=2, mapping=RENAMED, user=manager
    )
    assert_error(APIClient().get("/api/v1/migrations/"), 401, "not_authenticated")
    for roles in [("approver",), ("auditor",)]:
        assert_error(client_for(make_user, *roles).get("/api/v1/migrations/"), 403, "role_required")

    _, key = token_for(manager)
    body = token_client(key).get("/api/v1/migrations/").json()
    assert body["count"] == 2
    assert [r["id"] for r in body["results"]] == [second.pk, first.pk]  # newest first
    row = body["results"][0]
    assert (row["process_key"], row["status"], row["total"], row["created_by"]) == (
        "leave",
        "queued",
        1,
        manager.username,
    )
    assert "report" not in row  # the run's own endpoint has the per-instance report
    other = token_client(key).get("/api/v1/migrations/", {"process_key": "invoice"}).json()
    assert other["count"] == 0
