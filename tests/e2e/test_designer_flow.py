"""The designer page against the real server: draw, validate, deploy, reopen."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from apps.processes.models import ProcessVersion
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

APPEND_END_EVENT = """() => {
    const m = window.FlowgateDesigner.modeler;
    const start = m.get('elementRegistry').get('StartEvent_1');
    const end = m.get('elementFactory').createShape({type: 'bpmn:EndEvent'});
    return m.get('modeling').appendShape(start, end, {x: 320, y: 178}).id;
}"""


def test_a_designer_draws_validates_deploys_and_reopens_a_process(page, login_as, axe_check):
    login_as(page, UserFactory(roles=["designer"]))
    page.goto("/designer/new/blank/")
    canvas = page.locator("#designer-canvas")
    page.wait_for_selector("#designer-canvas[data-designer-state=ready]")
    assert axe_check(page) == []

    page.get_by_role("button", name="Validate").click()
    problems = page.locator("#designer-problems")
    problems.get_by_text("must be fixed before deploying").wait_for()
    assert "has no end event" in problems.inner_text()

    page.evaluate(APPEND_END_EVENT)
    page.get_by_role("button", name="Validate").click()
    problems.get_by_text("No problems found: the process can be deployed.").wait_for()

    with page.expect_navigation():  # the first deploy opens the new process's own page
        page.get_by_role("button", name="Deploy").click()
    page.wait_for_selector("#designer-canvas[data-designer-state=ready]")
    problems.get_by_text("Deployed version 1.").wait_for()
    version = ProcessVersion.objects.get()
    key = version.definition.key
    assert re.fullmatch(r"Process_[0-9a-z]{6,10}", key)  # a fresh id per new diagram
    assert version.number == 1
    assert 'isExecutable="true"' in version.xml
    assert urlsplit(page.url).path == f"/designer/{key}/"

    page.get_by_role("button", name="Deploy").click()  # unchanged: the same version
    problems.get_by_text("No changes: version 1 is already deployed.").wait_for()
    assert ProcessVersion.objects.count() == 1
    end_events = page.evaluate(
        "() => window.FlowgateDesigner.modeler.get('elementRegistry')"
        ".filter(e => e.type === 'bpmn:EndEvent').length"
    )
    assert end_events == 1  # the deployed diagram, not the blank template
    assert canvas.get_attribute("data-xml-url") == f"/designer/{key}/xml/"
    assert page.js_errors == []


def test_flash_messages_are_announced_dismissible_and_accessible(page, login_as, axe_check):
    from tests.e2e.test_task_flow import PROCESS

    login_as(page, UserFactory(roles=["designer"]))
    page.goto("/designer/")
    page.get_by_label("Upload a BPMN file").set_input_files(
        files=[{"name": "expense.bpmn", "mimeType": "application/xml", "buffer": PROCESS.encode()}]
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Deploy", exact=True).click()

    assert urlsplit(page.url).path == "/designer/expense/"
    alert = page.locator(".fg-messages .alert")
    assert alert.inner_text().strip() == "Deployed expense version 1."
    assert alert.get_attribute("role") == "status"
    assert page.locator(".fg-messages").get_attribute("aria-live") == "polite"
    assert "alert-success" in alert.get_attribute("class")
    page.wait_for_selector("#designer-canvas[data-designer-state=ready]")
    assert axe_check(page) == []
    # The uploaded file has no diagram layout: the designer lays it out and keeps our attributes.
    assert "arranged the elements automatically" in page.inner_text("#designer-problems")
    xml = page.evaluate("() => window.FlowgateDesigner.getXml()")
    assert "<bpmndi:BPMNShape" in xml and 'bpmnElement="Explain"' in xml
    assert 'flowgate:candidateGroups="approver"' in xml
    assert '<flowgate:form>{"type": "default"' in xml

    alert.get_by_role("button", name="Dismiss message").click()
    alert.wait_for(state="detached")


APPEND_AND_SELECT = """(type) => {
    const m = window.FlowgateDesigner.modeler;
    const start = m.get('elementRegistry').get('StartEvent_1');
    const element = m.get('elementFactory').createShape({type});
    const shape = m.get('modeling').appendShape(start, element, {x: 320, y: 178});
    m.get('selection').select(shape);
    return shape.id;
}"""


def _new_process_with(page, login_as, element_type: str) -> None:
    """A designer opens a new process and appends ``element_type`` to its start event."""
    login_as(page, UserFactory(roles=["designer"]))
    page.goto("/designer/new/blank/")
    page.wait_for_selector("#designer-canvas[data-designer-state=ready]")
    page.evaluate(APPEND_AND_SELECT, element_type)


def test_a_call_activity_gets_its_process_and_version_in_the_panel(page, login_as):
    _new_process_with(page, login_as, "bpmn:CallActivity")
    page.get_by_label("Called process").fill("pricing")
    page.get_by_label("Called process").press("Tab")
    page.get_by_label("Called version").fill("2")
    page.get_by_label("Called version").press("Tab")
    xml = page.evaluate("async () => (await window.FlowgateDesigner.modeler.saveXML()).xml")
    assert 'calledElement="pricing"' in xml
    assert 'flowgate:calledVersion="2"' in xml
    # The server reads the binding: version 2 of 'pricing' is not deployed here.
    page.get_by_role("button", name="Validate").click()
    page.locator("#designer-problems").get_by_text(
        "Version 2 of process 'pricing' is not deployed."
    ).wait_for()


def test_the_connector_field_offers_the_registered_connectors(page, login_as):
    _new_process_with(page, login_as, "bpmn:ServiceTask")
    field = page.get_by_label("Connector", exact=True)
    labels = dict(
        page.evaluate(
            "(id) => [...document.getElementById(id).options].map((o) => [o.value, o.text])",
            field.get_attribute("id"),
        )
    )
    assert {"echo", "http", "email", "set_variables"} <= set(labels)
    assert "chainable" in labels["echo"]
    assert "lease" in labels["http"]
    field.select_option("echo")
    xml = page.evaluate("async () => (await window.FlowgateDesigner.modeler.saveXML()).xml")
    assert 'flowgate:connector="echo"' in xml
