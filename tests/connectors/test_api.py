"""Connector and secret endpoints: anonymous / unprivileged / admin, nothing changed when denied."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.audit.models import AuditEvent
from apps.connectors.models import Secret
from apps.connectors.services import secret_reveal, secret_set

pytestmark = pytest.mark.django_db

VALUE = "super-secret-value-42"


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def admin(make_user):
    return make_user("admin", username="boss")


@pytest.fixture
def designer(make_user):
    return make_user("designer", username="des")


def test_connectors_list_requires_login():
    response = client_for().get("/api/v1/connectors/")
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"


def test_connectors_list_for_any_signed_in_user(designer):
    response = client_for(designer).get("/api/v1/connectors/")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 4
    assert [c["name"] for c in body["results"]] == ["echo", "email", "http", "set_variables"]
    http = body["results"][2]
    assert http["label"] == "HTTP request"
    assert http["config_schema"]["required"] == ["url"]


def test_secrets_list_permissions(admin, designer):
    secret_set(name="billing", value=VALUE, actor_user=admin)

    assert client_for().get("/api/v1/secrets/").status_code == 401
    denied = client_for(designer).get("/api/v1/secrets/")
    assert denied.status_code == 403
    assert denied.json()["error"] == "role_required"

    response = client_for(admin).get("/api/v1/secrets/")
    assert response.status_code == 200
    (item,) = response.json()["results"]
    assert item["name"] == "billing"
    assert item["is_set"] is True
    assert item["created_by"] == "boss"
    assert VALUE not in response.content.decode()
    assert "ciphertext" not in item and "value" not in item


def test_create_secret_denied_changes_nothing(designer):
    events_before = AuditEvent.objects.count()

    anonymous = client_for().post("/api/v1/secrets/", {"name": "x", "value": VALUE}, format="json")
    unprivileged = client_for(designer).post(
        "/api/v1/secrets/", {"name": "x", "value": VALUE}, format="json"
    )

    assert (anonymous.status_code, unprivileged.status_code) == (401, 403)
    assert not Secret.objects.exists()
    assert AuditEvent.objects.count() == events_before


def test_admin_creates_and_replaces_a_secret_without_seeing_it(admin):
    client = client_for(admin)

    created = client.post("/api/v1/secrets/", {"name": "billing", "value": VALUE}, format="json")
    replaced = client.post("/api/v1/secrets/", {"name": "billing", "value": "v2"}, format="json")

    assert (created.status_code, replaced.status_code) == (201, 201)
    assert set(created.json()) == {"name", "is_set", "created_by", "created_at", "updated_at"}
    assert VALUE not in created.content.decode()
    assert secret_reveal("billing") == "v2"


def test_invalid_secret_input_is_a_400(admin):
    client = client_for(admin)

    bad_name = client.post("/api/v1/secrets/", {"name": "Bad Name", "value": "v"}, format="json")
    no_value = client.post("/api/v1/secrets/", {"name": "ok"}, format="json")

    assert bad_name.status_code == 400
    assert bad_name.json()["error"] == "invalid_secret_name"
    assert no_value.status_code == 400
    assert not Secret.objects.exists()


def test_delete_secret_permissions(admin, designer):
    secret_set(name="billing", value=VALUE, actor_user=admin)

    assert client_for().delete("/api/v1/secrets/billing/").status_code == 401
    assert client_for(designer).delete("/api/v1/secrets/billing/").status_code == 403
    assert Secret.objects.filter(name="billing").exists()

    assert client_for(admin).delete("/api/v1/secrets/billing/").status_code == 204
    assert not Secret.objects.exists()
    missing = client_for(admin).delete("/api/v1/secrets/billing/")
    assert missing.status_code == 404
    assert missing.json()["message"] == "Secret 'billing' does not exist."
