"""Circuit breakers over the API (admins only; nothing changes when denied) and in the audit
trail: opening and closing are audited, a failed probe is not."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.audit.models import AuditEvent
from apps.connectors.http import breaker

pytestmark = pytest.mark.django_db
TARGET = "http://down.circuits.test:80"
T0 = 1_800_000_000.0


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def opened(settings):
    settings.FLOWGATE_HTTP_BREAKER_FAILURES = 2
    settings.FLOWGATE_HTTP_BREAKER_COOLDOWN_SECONDS = 30
    for _ in range(2):
        breaker.after_call(TARGET, ok=False, error="503 down", now=T0)
    yield TARGET
    breaker.circuit_reset(TARGET)


def circuit_events():
    return list(
        AuditEvent.objects.filter(action__startswith="connector.circuit_")
        .order_by("position")
        .values_list("action", "data")
    )


def test_opening_is_audited_and_a_failed_probe_is_not(opened):
    assert circuit_events() == [
        (
            "connector.circuit_opened",
            {
                "target": TARGET,
                "failures": 2,
                "open_until": "2027-01-15T08:00:30Z",
                "last_error": "503 down",
            },
        )
    ]
    assert breaker.before_call(TARGET, now=T0 + 31) is True
    breaker.after_call(TARGET, ok=False, now=T0 + 32)  # the probe failed: reopened, not audited
    assert len(circuit_events()) == 1
    assert breaker.before_call(TARGET, now=T0 + 63) is True
    breaker.after_call(TARGET, ok=True, now=T0 + 64)
    assert circuit_events()[-1] == ("connector.circuit_closed", {"target": TARGET, "by": "probe"})


def test_only_admins_list_and_close_circuits(opened, make_user):
    designer, admin = make_user("designer", username="des"), make_user("admin", username="boss")
    before = circuit_events()
    assert client_for().get("/api/v1/circuits/").status_code == 401
    assert client_for(designer).get("/api/v1/circuits/").status_code == 403
    for user, status in ((None, 401), (designer, 403)):
        response = client_for(user).post(
            "/api/v1/circuits/close/", {"target": TARGET}, format="json"
        )
        assert response.status_code == status
    assert breaker.circuits()[TARGET].state == breaker.OPEN  # nothing changed
    assert circuit_events() == before

    listed = client_for(admin).get("/api/v1/circuits/").json()["results"]
    assert [c for c in listed if c["target"] == TARGET] == [
        {
            "target": TARGET,
            "state": "open",
            "failures": 2,
            "open_until": "2027-01-15T08:00:30Z",
            "last_error": "503 down",
        }
    ]
    response = client_for(admin).post("/api/v1/circuits/close/", {"target": TARGET}, format="json")
    assert response.status_code == 204
    assert TARGET not in breaker.circuits()
    assert circuit_events()[-1] == (
        "connector.circuit_closed",
        {"target": TARGET, "by": "operator"},
    )
    unknown = client_for(admin).post("/api/v1/circuits/close/", {"target": TARGET}, format="json")
    assert (unknown.status_code, unknown.json()["error"]) == (404, "circuit_not_found")
