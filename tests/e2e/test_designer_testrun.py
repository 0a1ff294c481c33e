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


def test_a_test_run_shows_its_path_and_where_it_waits(page, login_as, axe_check):
    version_deploy(
        xml=gallery.template_get(slug="expense_approval").xml(), actor=Actor.system("test")
    )
    login_as(page, UserFactory(roles=["designer"]))
    page.goto("/designer/expense_approval/")
    page.wait_for_selector("#designer-canvas[data-designer-state=ready]")
    panel = page.locator("#designer-testrun")
    variables = panel.get_by_label("Sample variables (JSON object)")
    assert json.loads(variables.input_value()) == {"amount": 0, "description": ""}
    assert json.loads(panel.get_by_label("Stub results (task id → result)").input_value()) == {
        "auto_approve": {},
        "notify_requester": {},
    }
    variables.fill('{"amount": 5000, "description": "laptop"}')
    panel.get_by_role("button", name="Start test run").click()
    status = panel.locator(".fg-testrun-status")
    status.get_by_text("waits at manager_approval").wait_for()

    assert page.evaluate(MARKED, "fg-run-done") == ["amount_check", "submit"]
    assert page.evaluate(MARKED, "fg-run-taken") == ["f_high", "f_submit"]
    assert page.evaluate(MARKED, "fg-run-waiting") == ["manager_approval"]
    assert page.locator(".djs-overlay .fg-run-badge").inner_text() == "waits here"
    step = panel.locator("li[data-step=submit]")
    step.get_by_text("Variables").click()
    assert json.loads(step.locator(".fg-testrun-vars").inner_text()) == {
        "amount": 5000,
        "description": "laptop",
    }
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
    panel.get_by_label("Sample variables (JSON object)").fill('{"amount": 10, "description": "x"}')
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
