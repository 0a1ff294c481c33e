"""Audit REST API: access rules, filters, verify, export, evidence."""

from __future__ import annotations

import csv
import io
import json

import pytest
from rest_framework.test import APIClient

from apps.accounts.roles import Role
from apps.audit.actions import AuditAction
from apps.audit.models import AuditEvent
from apps.audit.services import chain_link_pending, record
from apps.common.actors import Actor
from tests.audit.support import chain_hash as _hash
from tests.audit.support import last_position as _last
from tests.audit.support import newest_event as _newest

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/audit/events/"
VERIFY = "/api/v1/audit/verify/"
EXPORT = "/api/v1/audit/export/"
EVIDENCE = "/api/v1/audit/instances/7/evidence/"

ENDPOINTS = [
    ("get", EVENTS, {}),
    ("post", VERIFY, {}),
    ("get", EXPORT, {"format": "csv"}),
    ("get", EXPORT, {"format": "json"}),
    ("get", EVIDENCE, {}),
]


@pytest.fixture
def trail():
    alice = Actor(kind="user", id="1", label="alice")
    events = [
        record(AuditAction.INSTANCE_STARTED, actor=alice, process_key="invoice", instance_id=7),
        record(
            AuditAction.TASK_COMPLETED,
            actor=Actor(kind="user", id="2", label="bob"),
            process_key="invoice",
            instance_id=7,
            task_id=70,
            after={"ok": True},
        ),
        record(AuditAction.TIMER_FIRED, actor=Actor.system("scheduler"), instance_id=8),
    ]
    chain_link_pending()  # what the post-commit linker does outside a test transaction
    return events


def _call(client, method, url, params):
    if method == "get":
        return client.get(url, params)
    return client.post(url, params, format="json")


@pytest.mark.parametrize(("method", "url", "params"), ENDPOINTS)
def test_anonymous_gets_401(method, url, params, trail):
    before = _last()
    response = _call(APIClient(), method, url, params)
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"
    assert _last() == before


@pytest.mark.parametrize(("method", "url", "params"), ENDPOINTS)
def test_unprivileged_gets_403_and_nothing_is_recorded(make_user, method, url, params, trail):
    client = APIClient()
    client.force_authenticate(make_user(Role.APPROVER, Role.DESIGNER, Role.MANAGER))
    before = _last()
    response = _call(client, method, url, params)
    assert response.status_code == 403
    body = response.json()
    assert body["error"] == "role_required"
    assert "auditor or admin" in body["message"]
    assert _last() == before


@pytest.fixture
def auditor(make_user):
    client = APIClient()
    client.force_authenticate(make_user(Role.AUDITOR, username="audrey"))
    return client


@pytest.mark.parametrize(("method", "url", "params"), ENDPOINTS)
def test_auditor_is_allowed(auditor, method, url, params, trail):
    assert _call(auditor, method, url, params).status_code == 200


def test_list_is_paginated_newest_first_and_filtered(auditor, trail):
    body = auditor.get(EVENTS, {"process_key": "invoice", "page_size": 1}).json()
    assert body["count"] == 2
    assert [e["position"] for e in body["results"]] == [trail[1].position]
    event = body["results"][0]
    assert event["actor_label"] == "bob"
    assert event["after"] == {"ok": True}
    assert event["hash"] == _hash(trail[1])
    assert event["prev_hash"] == _hash(trail[0])


def test_list_filters(auditor, trail):
    def positions(**params):
        return [e["position"] for e in auditor.get(EVENTS, params).json()["results"]]

    assert positions(actor="alice") == [trail[0].position]
    assert positions(action="timer.") == [trail[2].position]
    assert positions(instance_id=7, task_id=70) == [trail[1].position]
    assert positions(q="scheduler") == [trail[2].position]


def test_bad_filters_are_400_with_details(auditor, trail):
    response = auditor.get(EVENTS, {"action": "nope", "instance_id": "x"})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid"
    fields = sorted(d["field"] for d in body["details"])
    assert fields == ["action", "instance_id"]


def test_verify(auditor, trail):
    count = AuditEvent.objects.count()
    body = auditor.post(VERIFY).json()
    assert body["intact"] is True
    assert body["events"] == count
    assert body["summary"] == f"intact, {count} events, head {_hash(trail[-1])}"
    assert _newest().action == "audit.verified"


def test_export_csv(auditor, trail):
    before = _last()
    response = auditor.get(EXPORT, {"format": "csv", "instance_id": 7})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [int(r["position"]) for r in rows] == [trail[0].position, trail[1].position]
    exported = _newest()
    assert exported.position > before
    assert exported.data["up_to_position"] == before
    assert exported.action == "audit.exported"
    assert exported.actor_label == "audrey"
    assert exported.data["via"] == "api"
    assert exported.data["filters"] == {"instance_id": "7"}


def test_export_json(auditor, trail):
    response = auditor.get(EXPORT, {"format": "json", "actor": "scheduler"})
    events = json.loads(b"".join(response.streaming_content))
    assert [e["position"] for e in events] == [trail[2].position]


def test_export_needs_a_known_format(auditor, trail):
    before = _last()
    response = auditor.get(EXPORT, {"format": "xml"})
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "format"
    assert _last() == before


def test_export_with_an_api_token_records_the_token(make_user, trail):
    from apps.accounts.services import api_token_create

    user = make_user(Role.AUDITOR, username="robot")
    token, key = api_token_create(user=user, name="siem")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = client.get(EXPORT, {"format": "json"})
    assert response.status_code == 200
    exported = AuditEvent.objects.order_by("-position").first()
    assert (exported.action, exported.actor_kind, exported.actor_id) == (
        "audit.exported",
        "token",
        str(token.pk),
    )
    assert exported.actor_label == "robot (token siem)"


def test_evidence_of_unknown_instance_is_404(auditor, trail):
    response = auditor.get("/api/v1/audit/instances/999/evidence/")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_schema_documents_the_audit_endpoints(auditor):
    response = auditor.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = json.loads(response.content)["paths"]
    assert {"/api/v1/audit/events/", "/api/v1/audit/verify/", "/api/v1/audit/export/"} <= set(paths)


@pytest.mark.parametrize(
    "params",
    [
        {"q": "²"},
        {"q": "99999999999999999999999"},
        {"date_from": "0001-01-01", "date_to": "9999-12-31"},
        {"actor": "x" * 255, "process_key": "'; DROP TABLE audit_auditevent; --"},
    ],
)
def test_odd_but_valid_filters_answer_200(auditor, trail, params):
    response = auditor.get(EVENTS, params)
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"instance_id": str(2**63)}, "instance_id"),
        ({"task_id": "0"}, "task_id"),
        ({"date_from": "2026-13-01"}, "date_from"),
        ({"date_from": "2026-02-02", "date_to": "2026-02-01"}, "date_to"),
        ({"q": "a\x00b"}, "q"),
    ],
)
def test_invalid_filters_are_400(auditor, trail, params, field):
    response = auditor.get(EVENTS, params)
    assert response.status_code == 400
    assert [d["field"] for d in response.json()["details"]] == [field]
