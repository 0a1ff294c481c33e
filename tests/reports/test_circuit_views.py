"""The console's circuits page: report roles read it, only admins close a circuit (audited);
nothing changes when a close is denied."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.audit.models import AuditEvent
from apps.connectors.http import breaker

pytestmark = pytest.mark.django_db
TARGET = "http://down.console.test:80"


@pytest.fixture
def opened(settings):
    settings.FLOWGATE_HTTP_BREAKER_FAILURES = 1
    breaker.after_call(TARGET, ok=False, error="GET http://down.console.test:80/x answered 503")
    yield TARGET
    breaker.circuit_reset(TARGET)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def closes() -> int:
    return AuditEvent.objects.filter(action="connector.circuit_closed").count()


def test_report_roles_see_the_circuits_and_only_admins_may_close_them(opened, make_user):
    manager, admin = make_user("manager", username="mgr"), make_user("admin", username="adm")
    page = signed_in(manager).get("/admin-reports/circuits/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'<tr data-target="{TARGET}">' in html
    assert "answered 503" in html
    assert "Close the circuit" not in html  # a manager reads, does not close

    assert (
        signed_in(make_user("approver", username="ap")).get("/admin-reports/circuits/").status_code
        == 403
    )
    assert Client().get("/admin-reports/circuits/").status_code == 302  # to the login page

    denied = signed_in(manager).post("/admin-reports/circuits/close/", {"target": TARGET})
    assert denied.status_code == 403
    assert breaker.circuits()[TARGET].state == breaker.OPEN and closes() == 0

    admin_client = signed_in(admin)
    assert (
        "Close the circuit for http://down.console.test:80"
        in admin_client.get("/admin-reports/circuits/").content.decode()
    )
    response = admin_client.post("/admin-reports/circuits/close/", {"target": TARGET})
    assert (response.status_code, response["Location"]) == (302, "/admin-reports/circuits/")
    assert TARGET not in breaker.circuits() and closes() == 1
    # an unknown circuit: 404, as for any object that does not exist
    assert (
        admin_client.post("/admin-reports/circuits/close/", {"target": TARGET}).status_code == 404
    )
