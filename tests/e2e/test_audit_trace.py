"""In a real browser: an auditor searches the audit trail by an instance's trace id and follows
an event to the tracing backend (decision 039)."""

from __future__ import annotations

import pytest

from apps.audit.models import AuditEvent
from apps.common.actors import Actor
from apps.engine import services as engine
from apps.processes.services import version_deploy
from tests.engine.conftest import bpmn
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_auditor_finds_the_events_of_one_trace(page, login_as, axe_check, settings):
    settings.FLOWGATE_TRACE_URL_TEMPLATE = "https://tempo.example.com/trace/{trace_id}"
    version = version_deploy(xml=bpmn("approval.bpmn"), actor=Actor.system("test")).version
    requester = UserFactory(username="rita", roles=["approver"])
    instance = engine.instance_start(
        version=version,
        variables={"amount": 75},
        actor=Actor.for_user(requester),
        started_by=requester,
    )
    traced = AuditEvent.objects.filter(trace_id=instance.trace_id).count()
    assert traced >= 1

    login_as(page, UserFactory(username="audrey", roles=["auditor"]))
    page.goto("/admin-reports/audit/")
    page.get_by_label("Trace id").fill(instance.trace_id.upper())
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**trace_id=*")
    rows = page.locator("table tbody tr")
    rows.first.wait_for()
    assert rows.count() == traced
    rows.first.get_by_text("Show").click()
    trace = rows.first.get_by_test_id("event-trace")
    assert trace.inner_text().startswith(instance.trace_id)
    link = trace.get_by_role("link", name="open in tracing")
    assert link.get_attribute("href") == f"https://tempo.example.com/trace/{instance.trace_id}"
    assert axe_check(page) == []

    page.get_by_label("Trace id").fill("not-a-trace")
    page.get_by_role("button", name="Search").click()
    assert "A trace id is 32 hexadecimal characters." in page.locator("main").inner_text()
    assert page.js_errors == []
