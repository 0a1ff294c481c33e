"""A designer uploads a DMN file on the process list and reads the deployed table."""

from __future__ import annotations

import pytest

from apps.common.actors import Actor
from apps.engine.models import ProcessInstance
from apps.processes.decisions import decision_evaluate, dmn_deploy
from apps.processes.demo import demo_processes_ensure
from tests.engine.conftest import run_jobs
from tests.engine_core.dmn.support import FILES
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_upload_a_dmn_file_and_read_its_table(page, live_server, login_as, axe_check):
    login_as(page, UserFactory(roles=["designer"]))
    page.goto(f"{live_server.url}/designer/")
    page.get_by_label("Upload a BPMN file").set_input_files(str(FILES / "approval.dmn"))
    page.get_by_role("button", name="Deploy").click()
    page.get_by_text("Deployed decisions: approval_level version 1").wait_for()
    page.get_by_role("link", name="Decisions").click()
    page.get_by_role("heading", name="Decisions", level=1).wait_for()
    assert axe_check(page) == []
    page.get_by_role("link", name="Approval level").click()
    table = page.get_by_role("table", name="Decision table approval_level version 1")
    table.wait_for()
    assert table.locator("tbody tr").count() == 3
    assert '"cfo"' in table.locator('tr[data-rule-id="Rule_cfo"]').inner_text()
    assert axe_check(page) == []
    page.get_by_label("Variables (JSON)").fill('{"amount": 500, "country": "US"}')
    page.get_by_role("button", name="Evaluate").click()
    page.get_by_role("status").get_by_text("Matched rule 3").wait_for()
    assert table.locator("tr.fg-rule-tried").get_attribute("data-rule-id") == "Rule_cfo"
    assert axe_check(page) == []


BUILD = """() => {
    const m = window.FlowgateDesigner.modeler;
    const reg = m.get('elementRegistry'), factory = m.get('elementFactory');
    const modeling = m.get('modeling');
    const task = modeling.appendShape(reg.get('StartEvent_1'),
        factory.createShape({type: 'bpmn:BusinessRuleTask'}), {x: 320, y: 178});
    modeling.updateProperties(task, {id: 'decide', name: 'Decide approver'});
    modeling.appendShape(task, factory.createShape({type: 'bpmn:EndEvent'}), {x: 480, y: 178});
    m.get('selection').select(task);
}"""


def test_a_business_rule_task_picks_a_deployed_decision(page, login_as, axe_check):
    dmn_deploy(xml=(FILES / "approval.dmn").read_bytes(), actor=Actor.system("test"))
    login_as(page, UserFactory(roles=["designer"]))
    page.goto("/designer/new/blank/")
    page.wait_for_selector("#designer-canvas[data-designer-state=ready]")
    page.evaluate(BUILD)
    panel = page.locator("#designer-properties")
    assert panel.get_by_label("Connector").count() == 0  # a decision, not a connector
    options = page.evaluate(
        "() => [...document.querySelectorAll('#designer-properties datalist option')]"
        ".map(o => o.value)"
    )
    assert options == ["approval_level", "greeting", "risk_class"]
    decision = panel.get_by_label("Decision", exact=True)
    decision.fill("approval_level")
    decision.press("Tab")
    result = panel.get_by_label("Result variable")
    result.fill("routing")
    result.press("Tab")
    panel.get_by_label("Policy gate").check()
    xml = page.evaluate("() => window.FlowgateDesigner.getXml()")
    assert 'flowgate:decisionRef="approval_level"' in xml
    assert 'flowgate:resultVariable="routing"' in xml
    assert 'flowgate:policyGate="true"' in xml
    assert "FIRST table, latest version 1" in panel.inner_text()
    assert panel.get_by_role("link", name="Open the decision table").get_attribute("href") == (
        "/designer/decisions/approval_level/"
    )
    assert axe_check(page, context="#designer-properties") == []


def _choose(page, label: str, option: str) -> None:
    """Pick an option of a form-js select (a search box with a drop-down list)."""
    field = page.locator(".fjs-form-field").filter(has=page.get_by_label(label))
    field.locator(".fjs-input-group").click()
    field.locator(".fjs-dropdownlist-item", has_text=option).first.click()


def test_the_requester_sees_why_the_policy_rejected_a_request(page, login_as, axe_check):
    # given the demo seed's access request with its policy gate
    demo_processes_ensure()
    rita = UserFactory(username="rita", roles=[])
    # when a requester asks for admin access through the catalog's start form
    login_as(page, rita)
    page.goto("/requests/new/")
    page.get_by_role("link", name="Start Access request").click()
    page.get_by_label("System").wait_for()
    page.get_by_label("System").fill("crm")
    _choose(page, "Access level", "Admin")
    _choose(page, "Region", "EU")
    page.get_by_label("Justification").fill("I need to manage the pipelines")
    with page.expect_navigation(url="**/requests/*/"):
        page.get_by_role("button", name="Submit request").click()
    instance = ProcessInstance.objects.get()
    run_jobs(instance)  # the worker runs the gate
    instance.refresh_from_db()
    assert (instance.variables["access_level"], instance.variables["region"]) == ("admin", "EU")
    assert instance.outcome == "rejected_by_policy"
    # then the request page says it was rejected by policy, and why
    page.reload()
    page.get_by_test_id("request-status").get_by_text("Rejected by policy").wait_for(timeout=15_000)
    alert = page.get_by_test_id("policy-rejection")
    assert alert.inner_text() == (
        "Rejected by policy: Admin access is never granted through self-service: ask the "
        "security team."
    )
    assert axe_check(page) == []
    # and My requests shows it too
    page.goto("/requests/")
    page.get_by_role("cell", name="Rejected by policy").wait_for()


def test_the_decision_rules_report_flags_rules_that_never_matched(page, login_as, axe_check):
    dmn_deploy(xml=(FILES / "approval.dmn").read_bytes(), actor=Actor.system("test"))
    decision_evaluate(
        key="approval_level", variables={"amount": 500, "country": "US"}, actor=Actor.system("t")
    )
    login_as(page, UserFactory(roles=["auditor"]))
    page.goto("/admin-reports/")
    page.get_by_role("link", name="Decision rules").click()
    page.get_by_label("Decision").select_option("approval_level")
    page.get_by_role("button", name="Show").click()
    section = page.locator('section[data-decision="approval_level"]')
    section.wait_for()
    assert "1 evaluation" in section.inner_text()
    assert section.locator("tr.table-warning").count() == section.locator("tbody tr").count() - 1
    assert section.locator('tr[data-rule-id="Rule_cfo"] .fg-rule-matched-count').inner_text() == "1"
    assert axe_check(page) == []
