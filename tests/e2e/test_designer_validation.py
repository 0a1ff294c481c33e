"""Validation problems from the server are listed, marked on their elements on the canvas, and
fixed from the list: a click selects the element and focuses the field that fixes it."""

from __future__ import annotations

import pytest

from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BREAK = """() => {
    const m = window.FlowgateDesigner.modeler;
    const reg = m.get('elementRegistry'), modeling = m.get('modeling');
    modeling.updateProperties(reg.get('manager_approval'), {'flowgate:candidateGroups': undefined});
    modeling.updateProperties(reg.get('f_high'), {conditionExpression: undefined});
}"""
SELECTED = "() => window.FlowgateDesigner.modeler.get('selection').get().map(e => e.id)"
FOCUSED = "() => [document.activeElement.name || '', document.activeElement.textContent]"


def test_a_problem_is_marked_on_its_element_and_fixed_from_the_list(page, login_as, axe_check):
    login_as(page, UserFactory(roles=["designer"]))
    page.goto("/designer/new/expense_approval/")
    page.wait_for_selector("#designer-canvas[data-designer-state=ready]")
    page.evaluate(BREAK)

    page.get_by_role("button", name="Validate").click()
    problems = page.locator("#designer-problems")
    problems.get_by_text("2 problem(s) must be fixed before deploying.").wait_for()
    buttons = problems.locator("button[data-element-id]")
    assert [buttons.nth(i).get_attribute("data-element-id") for i in range(2)] == [
        "f_high",
        "manager_approval",
    ]
    marked = page.evaluate(
        "() => [...document.querySelectorAll('.djs-element.fg-problem')]"
        ".map(e => e.dataset.elementId).sort()"
    )
    assert marked == ["f_high", "manager_approval"]
    badges = page.locator(".djs-overlay .fg-problem-count")
    assert badges.count() == 2 and badges.first.inner_text() == "1"
    assert axe_check(page) == []

    # The user task: selected, its role picker focused; tick the role.
    problems.locator("button[data-element-id=manager_approval]").click()
    page.wait_for_function("() => document.activeElement.name === 'candidateRole'")
    assert page.evaluate(SELECTED) == ["manager_approval"]
    page.locator("#designer-properties").get_by_role("checkbox", name="manager").check()

    # The gateway's flow: selected, the condition builder's "Add condition" focused.
    problems.locator("button[data-element-id=f_high]").click()
    page.wait_for_function("() => document.activeElement.textContent === 'Add condition'")
    assert page.evaluate(SELECTED) == ["f_high"]
    page.keyboard.press("Enter")
    builder = page.locator(".fg-condition-builder[data-flow=f_high]")
    builder.get_by_label("Condition 1 variable").fill("amount")
    builder.get_by_label("Condition 1 operator").select_option(">")
    builder.get_by_label("Condition 1 value").fill("1000")
    builder.get_by_label("Condition 1 value").press("Tab")

    page.get_by_role("button", name="Validate").click()
    problems.get_by_text("No problems found: the process can be deployed.").wait_for()
    assert page.locator(".djs-element.fg-problem").count() == 0
    assert page.locator(".djs-overlay .fg-problem-count").count() == 0
    assert page.js_errors == []


def test_problems_without_an_element_select_the_process(page, login_as):
    login_as(page, UserFactory(roles=["designer"]))
    page.goto("/designer/new/blank/")
    page.wait_for_selector("#designer-canvas[data-designer-state=ready]")
    page.get_by_role("button", name="Validate").click()
    problems = page.locator("#designer-problems")
    problems.get_by_text("must be fixed before deploying").wait_for()
    button = problems.get_by_role("button", name="has no end event", exact=False)
    button.click()
    root = page.evaluate("() => window.FlowgateDesigner.modeler.get('canvas').getRootElement().id")
    assert page.evaluate(SELECTED) == [root]
