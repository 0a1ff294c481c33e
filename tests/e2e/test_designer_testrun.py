"""A test run from the designer: sample variables from the start form, stubbed service tasks,
the manager's approval given from the test panel; the canvas shows the path and where the
instance waits, the panel each step's variables."""

from __future__ import annotations

import json

import pytest

from apps.common.actors import Actor
from apps.processes import gallery
from apps.processes.services import version_deploy
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

MARKED = """(marker) => {
    const m = window.FlowgateDesigner.modeler;
    return m.get('elementRegistry').getAll()
        .filter(e => m.get('canvas').hasMarker(e, marker)).map(e => e.id).sort();
}"""


FORM = (
    '<bpmn:extensionElements><flowgate:form>{"components": ['
    '{"type": "textarea", "key": "note", "label": "Note for the requester"}, '
    '{"type": "checkbox", "key": "urgent", "label": "Urgent"}]}</flowgate:form>'
    "</bpmn:extensionElements>\n      <bpmn:incoming>f_high</bpmn:incoming>"
)


def test_a_test_run_shows_its_path_and_where_it_waits(page, login_as, axe_check):
    """The panel speaks the model's words: step names (not activity ids), variables as a table,
    the start form's and the user task's fields (the JSON one click away)."""
    xml = gallery.template_get(slug="expense_approval").xml()
    xml = xml.replace("<bpmn:incoming>f_high</bpmn:incoming>", FORM, 1)
    version_deploy(xml=xml, actor=Actor.system("test"))
    login_as(page, UserFactory(roles=["designer"]))
    page.goto("/designer/expense_approval/")
    page.wait_for_selector("#designer-canvas[data-designer-state=ready]")
    panel = page.locator("#designer-testrun")
    assert panel.get_by_label("Sample variables (JSON object)").is_visible() is False
    assert json.loads(panel.get_by_label("Stub results (task id → result)").input_value()) == {
        "auto_approve": {},
        "notify_requester": {},
    }
    panel.get_by_label("Amount").fill("5000")
    panel.get_by_label("Description").fill("laptop")
    panel.get_by_text("Edit as JSON (advanced)").click()  # the JSON shows what the fields hold
    variables = panel.get_by_label("Sample variables (JSON object)")
    assert json.loads(variables.input_value()) == {"amount": 5000, "description": "laptop"}
    panel.get_by_role("button", name="Start test run").click()
    status = panel.locator(".fg-testrun-status")
    status.get_by_text("waits at Manager approval").wait_for()

    assert page.evaluate(MARKED, "fg-run-done") == ["amount_check", "submit"]
    assert page.evaluate(MARKED, "fg-run-taken") == ["f_high", "f_submit"]
    assert page.evaluate(MARKED, "fg-run-waiting") == ["manager_approval"]
    assert page.locator(".djs-overlay .fg-run-badge").inner_text() == "waits here"
    step = panel.locator("li[data-step=submit]")
    assert step.locator("span").first.inner_text().strip() == "Expense submitted"
    step.get_by_text("Variables (2)").click()
    rows = step.locator(".fg-testrun-vars-table tbody tr")
    assert rows.all_inner_texts() == ["amount\t5000", "description\tlaptop"]
    step.get_by_text("As JSON").click()
    assert json.loads(step.locator(".fg-testrun-vars").inner_text()) == {
        "amount": 5000,
        "description": "laptop",
    }
    task = panel.locator("li[data-step=manager_approval]")
    task.get_by_label("Note for the requester").fill("Fine, buy it")
    task.get_by_label("Urgent").check()
    assert axe_check(page) == []

    panel.get_by_role("button", name="Approve Manager approval").click()
    status.get_by_text("completed").wait_for()
    assert page.evaluate(MARKED, "fg-run-waiting") == []
    assert page.evaluate(MARKED, "fg-run-done") == [
        "amount_check",
        "approved_check",
        "done",
        "manager_approval",
        "notify_requester",
        "submit",
    ]
    assert "f_yes" in page.evaluate(MARKED, "fg-run-taken")
    assert page.locator(".djs-overlay .fg-run-badge").count() == 0
    done = panel.locator("li[data-step=done]")
    done.get_by_text("Variables (").click()
    table = done.locator(".fg-testrun-vars-table")
    assert table.locator("tr[data-variable=note] td").inner_text() == "Fine, buy it"
    assert table.locator("tr[data-variable=urgent] td").inner_text() == "yes"
    assert page.js_errors == []


def test_a_test_run_of_an_earlier_version_with_one_task_run_for_real(page, login_as):
    from apps.engine.models import Job, JobStatus, ProcessInstance

    xml = gallery.template_get(slug="expense_approval").xml()
    version_deploy(xml=xml, actor=Actor.system("test"))
    version_deploy(
        xml=xml.replace('name="Expense approval"', 'name="Expense v2"'), actor=Actor.system("t")
    )
    login_as(page, UserFactory(roles=["designer"]))
    page.goto("/designer/expense_approval/")
    page.wait_for_selector("#designer-canvas[data-designer-state=ready]")
    panel = page.locator("#designer-testrun")
    picker = panel.get_by_label("Version to run")
    assert picker.input_value() == "2"
    picker.select_option("1")
    panel.get_by_label("Amount").fill("10")
    panel.get_by_label("Description").fill("x")
    panel.get_by_label("Notify requester notify_requester").check()  # run for real
    panel.get_by_role("button", name="Start test run").click()
    status = panel.locator(".fg-testrun-status")
    status.get_by_text("Test run #").wait_for()
    assert "(v1)" in status.inner_text()
    run = ProcessInstance.objects.get()
    assert run.version.number == 1
    # auto_approve was stubbed in the request; notify_requester is left to a worker.
    jobs = dict(Job.objects.filter(instance=run).values_list("activity_id", "status"))
    assert jobs["auto_approve"] == JobStatus.DONE
    assert jobs.get("notify_requester") in (JobStatus.PENDING, JobStatus.DONE)
    assert page.js_errors == []
