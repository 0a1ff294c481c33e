"""The issue's "done when" in a real browser: on the seeded demo a process owner sees
manager_approval breaching its SLA in 30 % of cases, red on the heatmap, opens the late
instances, sees the SLO at risk and retries failed jobs from the incidents list."""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.common.actors import Actor
from apps.engine.models import Incident, IncidentStatus
from apps.processes.services import version_deploy
from apps.reports.demo import report_demo_seed
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
BPMN = Path(__file__).resolve().parents[1] / "reports" / "bpmn" / "expense_demo.bpmn"


def test_process_owner_finds_the_late_step_and_fixes_failed_jobs(page, login_as, axe_check):
    version_deploy(xml=BPMN.read_bytes(), actor=Actor.system("test"))
    owner = UserFactory(username="olga", roles=["manager"])
    report_demo_seed()
    login_as(page, owner)

    # SLA dashboard: 30 of 100 approvals breached
    page.goto("/admin-reports/sla/?process_key=expense_approval")
    page.wait_for_selector("html[data-reports-ready='1']")
    assert page.locator("[data-testid='breached-manager_approval']").inner_text() == "30 (30%)"
    assert page.locator("#chart-sla").bounding_box()["height"] > 50
    assert axe_check(page) == []
    assert page.js_errors == []

    # heatmap: the approval is the hottest (darkest red) step; click it for its slowest instances
    page.goto("/admin-reports/heatmap/")
    page.wait_for_selector("#heatmap[data-ready='1']")
    heat = page.locator("[data-heat-activity='manager_approval']").get_attribute("data-heat")
    assert heat == "rgb(220, 53, 69)"
    notify = page.locator("[data-heat-activity='notify_requester']").get_attribute("data-heat")
    assert notify != heat
    page.locator("[data-element-id='manager_approval']").first.click()
    slowest = page.locator("[data-testid='slowest-list'] li")
    slowest.first.wait_for()
    assert slowest.count() == 10
    assert axe_check(page) == []
    with page.expect_navigation():
        slowest.first.locator("a").click()
    assert "manager_approval" in page.locator("main").inner_text()
    page.wait_for_selector("#instance-diagram[data-ready='1']")
    assert axe_check(page) == []

    # the late instances: those waiting at the approval past its breach threshold
    page.goto("/admin-reports/sla/?process_key=expense_approval")
    with page.expect_navigation():
        page.locator("tr[data-activity='manager_approval'] a.text-bg-danger").click()
    assert page.locator("[data-testid='instance-results'] tbody tr").count() == 6
    assert axe_check(page) == []

    # the SLO is at risk
    page.goto("/admin-reports/slo/")
    assert page.locator("[data-testid='slo-state-expense_approval']").inner_text() == "At risk"
    assert axe_check(page) == []

    # incidents: retry one, then the rest of its group
    page.goto("/admin-reports/incidents/")
    assert page.locator("[data-testid='incident-group']").count() == 1
    assert axe_check(page) == []
    first = Incident.objects.order_by("pk").first()
    with page.expect_navigation():
        page.get_by_role("button", name=f"Retry incident {first.pk}").click()
    assert "scheduled again" in page.locator(".fg-messages").inner_text()
    with page.expect_navigation():
        page.get_by_role("button", name="Retry all 1").click()
    assert set(Incident.objects.values_list("status", flat=True)) == {IncidentStatus.RETRIED}
    page.goto("/admin-reports/incidents/?status=retried")
    assert page.locator("td", has_text="olga").count() == 2
