"""The dmn-js decision editor: a designer makes a new decision, edits a cell, checks it (the
server names the broken cell by rule and column), deploys it and tries it."""

from __future__ import annotations

import pytest

from apps.processes.models import DecisionVersion
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _cell(page, rule_id: str, column_id: str):
    return page.locator(f'td[data-row-id="{rule_id}"][data-col-id="{column_id}"]')


def _type_into(page, cell, text: str) -> None:
    cell.click()
    editable = cell.locator("[contenteditable]").first
    editable.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(text)
    page.keyboard.press("Escape")


def test_new_decision_edit_a_cell_check_deploy_and_try_it(page, login_as, axe_check):
    login_as(page, UserFactory(roles=["designer"]))
    page.goto("/designer/decisions/")
    page.get_by_role("link", name="New decision").click()
    page.get_by_label("Decision id").fill("discount")
    page.get_by_label("Name").fill("Discount")
    page.get_by_role("button", name="Open the editor").click()
    page.wait_for_selector("#decision-editor[data-editor-state=ready]")
    assert page.locator(".bjs-powered-by, .powered-by").count() >= 1  # the bpmn.io watermark
    assert _cell(page, "Rule_1", "Input_1").inner_text().strip() == "< 1000"

    # an unreadable cell: the server names its rule and column
    _type_into(page, _cell(page, "Rule_1", "Input_1"), "[1..")
    page.get_by_role("button", name="Check").click()
    problem = page.locator("#decision-results .fg-problem").first
    problem.wait_for()
    assert "rule 1" in problem.inner_text()
    assert "'Amount'" in problem.inner_text()

    # fixed, with an overlap under UNIQUE: it deploys, with a warning
    _type_into(page, _cell(page, "Rule_1", "Input_1"), "<= 1000")
    page.get_by_role("button", name="Check").click()
    page.get_by_text("It deploys, with 1 warning(s).").wait_for()
    warning = page.locator("#decision-results .fg-warning").first.inner_text()
    assert "rules 1 and 2 can match the same inputs" in warning
    page.get_by_label("Comment for the new version").fill("first cut")
    page.get_by_role("button", name="Deploy").click()
    page.get_by_text("Deployed discount version 1.").wait_for()
    assert DecisionVersion.objects.get(key="discount").number == 1
    assert page.locator('#decision-versions li[data-version="1"]').count() == 1

    # try it: the matched rule is highlighted
    page.get_by_label("Variables (JSON)").fill('{"amount": 50}')
    page.get_by_role("button", name="Evaluate").click()
    page.get_by_text("Matched rule 1 of version 1 (highlighted).").wait_for()
    assert _cell(page, "Rule_1", "Output_1").get_attribute("class").count("fg-rule-matched") == 1
    assert "fg-rule-matched" not in (_cell(page, "Rule_2", "Output_1").get_attribute("class") or "")
    assert axe_check(page, context="#decision-results") == []
