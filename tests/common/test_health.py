import pytest
from django.utils import timezone

from apps.common import services

pytestmark = pytest.mark.django_db


def test_health_reports_every_component_and_503_without_worker(client):
    response = client.get("/healthz")
    body = response.json()
    assert set(body["components"]) == {"database", "broker", "worker", "scheduler"}
    assert body["components"]["database"]["ok"] is True
    assert body["components"]["worker"] == {"ok": False, "error": "no heartbeat yet"}
    assert response.status_code == 503


def test_health_is_ok_with_fresh_heartbeats(client):
    services.heartbeat_record(component="worker")
    services.heartbeat_record(component="scheduler", at=timezone.now())
    response = client.get("/healthz")
    assert response.json()["components"]["worker"]["ok"] is True
    assert response.status_code == 200, response.json()


def test_responses_carry_a_request_id(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="abc-123")
    assert response["X-Request-ID"] == "abc-123"
    other = client.get("/healthz", HTTP_X_REQUEST_ID="bad id with spaces")
    assert len(other["X-Request-ID"]) == 32
