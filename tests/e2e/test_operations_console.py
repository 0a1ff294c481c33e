"""The operations console's instance page in the browser: an admin sets a variable with the type
it is stored as (no silent "number became text"), and the action buttons pass axe's contrast
check (Bootstrap's outline-warning "Suspend" was 1.63:1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.common.actors import Actor
from apps.engine import services as engine_services
from apps.engine.models import ProcessInstance
from apps.processes import services as process_services
from tests.factories import UserFactory

DEMO_BPMN = Path(__file__).resolve().parents[2] / "apps" / "processes" / "demo_bpmn"

pytestmark = [pytest.mark.e2e, pytest.mark.embedded, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def instance():
    process_services.version_deploy(
        xml=(DEMO_BPMN / "expense_approval.bpmn").read_bytes(), actor=Actor.system("test")
    )
    return engine_services.instance_start(
        process_key="expense_approval",
        variables={"amount": 2500, "description": "Conference ticket"},
        actor=Actor.system("test"),
    )


def _variables(page) -> list[list[str]]:
    rows = page.get_by_test_id("instance-variables").locator("tbody tr")
    return [r.locator("th, td").all_inner_texts() for r in rows.all()]


def _set(page, name: str, type_label: str, value: str) -> None:
    page.get_by_label("Variable", exact=True).fill(name)
    page.get_by_label("Stored as").select_option(label=type_label)
    page.get_by_label("New value").fill(value)
    with page.expect_navigation():
        page.get_by_role("button", name="Set", exact=True).click()


def test_an_admin_sets_typed_variables_and_the_page_says_each_type(page, login_as, instance):
    login_as(page, UserFactory(roles=["admin"]))
    page.goto(f"/admin-reports/instances/{instance.pk}/")
    assert _variables(page) == [
        ["amount", "2500", "number"],
        ["description", "Conference ticket", "text"],
    ]
    # The type must be chosen: the browser does not send the form without it.
    page.get_by_label("Variable", exact=True).fill("amount")
    page.get_by_label("New value").fill("3000")
    page.get_by_role("button", name="Set", exact=True).click()
    assert page.evaluate("() => document.getElementById('v-type').validity.valueMissing")

    _set(page, "amount", "Number", "3000")
    assert "Variable amount is set to 3000 (number)." in page.inner_text(".fg-messages")
    _set(page, "ratio", "Number", "12.5")
    _set(page, "code", "Text", "007")
    _set(page, "vip", "Yes/no (true or false)", "true")
    _set(page, "tags", "JSON (list, object or null)", '["a", 1]')
    assert ProcessInstance.objects.get(pk=instance.pk).variables == {
        "amount": 3000,
        "description": "Conference ticket",
        "ratio": 12.5,
        "code": "007",
        "vip": True,
        "tags": ["a", 1],
    }
    assert _variables(page) == [
        ["amount", "3000", "number"],
        ["code", "007", "text"],
        ["description", "Conference ticket", "text"],
        ["ratio", "12.5", "number"],
        ["tags", "['a', 1]", "list"],
        ["vip", "True", "yes/no"],
    ]

    # A value that is not of the chosen type is refused with the reason; nothing changes.
    _set(page, "amount", "Number", "1,5")
    assert (
        "'1,5' is not a number: write digits, with a dot for decimals (for example 1500 or "
        "12.5), or choose the type Text." in page.inner_text(".fg-messages")
    )
    assert ProcessInstance.objects.get(pk=instance.pk).variables["amount"] == 3000
    assert page.js_errors == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_console_actions_pass_axe_contrast(make_page, login_as, instance, axe_check, scheme):
    page = make_page(color_scheme=scheme)
    login_as(page, UserFactory(roles=["admin"]))
    page.goto(f"/admin-reports/instances/{instance.pk}/")
    suspend = page.get_by_role("button", name="Suspend", exact=True)
    assert suspend.is_visible()
    assert axe_check(page, context=".btn-outline-warning") == []
    if scheme == "light":  # (dark: the page's legend and other outline buttons are not AA yet)
        assert axe_check(page) == []
