"""The SLO form offers the deployed processes, not a free-text key."""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.common.actors import Actor
from apps.processes.services import version_deploy
from apps.reports.models import ProcessSlo
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.embedded, pytest.mark.django_db(transaction=True)]
DEMO_BPMN = Path(__file__).resolve().parents[2] / "apps" / "processes" / "demo_bpmn"


def test_an_objective_is_set_for_a_process_chosen_from_the_deployed_ones(page, login_as, axe_check):
    version_deploy(
        xml=(DEMO_BPMN / "expense_approval.bpmn").read_bytes(), actor=Actor.system("test")
    )
    login_as(page, UserFactory(username="olga", roles=["manager"]))
    page.goto("/admin-reports/slo/")
    process = page.get_by_label("Process", exact=True)
    # the choices are the deployed processes (and a prompt)
    assert process.locator("option").all_inner_texts() == [
        "Choose a process…",
        "Expense approval (expense_approval)",
    ]
    assert axe_check(page) == []
    process.select_option("expense_approval")
    page.get_by_label("Objective (%)").fill("95")
    with page.expect_navigation():
        page.get_by_role("button", name="Save").click()
    page.get_by_text("The objective is saved.").wait_for()
    assert ProcessSlo.objects.get().process_key == "expense_approval"
    assert page.js_errors == []
