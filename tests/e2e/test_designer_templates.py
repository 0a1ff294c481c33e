"""Create a process from the template gallery, in the browser, and deploy it with a comment."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from apps.processes import gallery
from apps.processes.models import ProcessVersion
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ELEMENT_IDS = "() => window.FlowgateDesigner.modeler.get('elementRegistry').getAll().map(e => e.id)"


def test_a_designer_creates_and_deploys_a_process_from_a_template(page, login_as, axe_check):
    login_as(page, UserFactory(roles=["designer"], username="dana"))
    page.goto("/designer/")
    page.get_by_role("link", name="New process").first.click()
    page.get_by_role("heading", name="New process", level=1).wait_for()
    assert axe_check(page) == []
    page.get_by_role("link", name="Use template Expense approval").click()
    page.wait_for_selector("#designer-canvas[data-designer-state=ready]")
    assert axe_check(page) == []

    ids = set(page.evaluate(ELEMENT_IDS))
    assert {"submit", "amount_check", "manager_approval", "f_high", "f_low"} <= ids
    process_id = page.evaluate(
        "() => window.FlowgateDesigner.modeler.get('canvas').getRootElement().id"
    )
    assert re.fullmatch(r"expense_approval_[0-9a-z]{1,6}", process_id)
    labels = page.evaluate(
        "() => ['f_high', 'f_low', 'f_yes', 'f_no'].map(id => "
        "window.FlowgateDesigner.modeler.get('elementRegistry').get(id).businessObject.name)"
    )
    assert labels == ["amount > 1000", "amount <= 1000", "approved", "rejected"]

    page.get_by_role("button", name="Validate").click()
    page.locator("#designer-problems").get_by_text(
        "No problems found: the process can be deployed."
    ).wait_for()
    page.get_by_label("Deploy comment").fill("First version from the template")
    with page.expect_navigation():
        page.get_by_role("button", name="Deploy").click()
    page.wait_for_selector("#designer-canvas[data-designer-state=ready]")
    assert urlsplit(page.url).path == f"/designer/{process_id}/"
    page.locator("#designer-problems").get_by_text("Deployed version 1.").wait_for()
    version = ProcessVersion.objects.get()
    assert (version.definition.key, version.number, version.status, version.comment) == (
        process_id,
        1,
        "deployed",
        "First version from the template",
    )
    history = page.locator("#designer-versions li[data-version='1']")
    assert "First version from the template" in history.inner_text()
    assert "dana" in history.inner_text()
    assert page.js_errors == []


def test_every_template_opens_without_warnings_and_keeps_its_category(page, login_as):
    """Each gallery template opens with no import warning (the moddle extension knows every
    flowgate: attribute the templates use), and flowgate:category survives the round trip and
    is editable in the properties panel (the root element's "Request catalog" group)."""
    login_as(page, UserFactory(roles=["designer"]))
    for template in gallery.templates_list():
        page.goto(f"/designer/new/{template.slug}/")
        page.wait_for_selector("#designer-canvas[data-designer-state=ready]")
        assert page.locator("#designer-problems").inner_text() == "", template.slug
        category = re.search(r'flowgate:category="([^"]+)"', template.xml()).group(1)
        xml = page.evaluate("() => window.FlowgateDesigner.getXml()")
        assert f'flowgate:category="{category}"' in xml, template.slug

    # the last template's process is the root element: its panel shows the category
    field = page.locator("#designer-properties").get_by_label("Category")
    assert field.input_value() == category
    field.fill("Purchasing")
    field.press("Tab")
    xml = page.evaluate("() => window.FlowgateDesigner.getXml()")
    assert 'flowgate:category="Purchasing"' in xml
    assert f'flowgate:category="{category}"' not in xml
    assert page.js_errors == []


def test_a_template_opens_without_warnings_and_its_request_settings_are_editable(page, login_as):
    """The demo templates carry flowgate:summary and flowgate:businessKeyPrefix: the designer knows
    both (no "unknown attribute" import warnings), shows them in the Request catalog group and
    writes what the designer types back to the XML."""
    login_as(page, UserFactory(roles=["designer"], username="dana"))
    page.goto("/designer/new/expense_approval/")
    page.wait_for_selector("#designer-canvas[data-designer-state=ready]")
    assert page.locator("#designer-problems").inner_text().strip() == ""
    assert page.get_by_label("Summary line").input_value() == "{amount} — {description}"
    assert page.get_by_label("Reference prefix").input_value() == "EXP"

    page.get_by_label("Summary line").fill("{description} ({amount} EUR)")
    page.get_by_label("Summary line").press("Tab")
    page.get_by_label("Reference prefix").fill("inv")
    page.get_by_label("Reference prefix").press("Tab")
    xml = page.evaluate(
        "async () => (await window.FlowgateDesigner.modeler.saveXML({ format: false })).xml"
    )
    assert 'flowgate:summary="{description} ({amount} EUR)"' in xml
    assert 'flowgate:businessKeyPrefix="INV"' in xml
    assert "unknown attribute" not in page.locator("main").inner_text()
