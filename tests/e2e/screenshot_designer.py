"""Writes the screenshots of docs/designer.md (docs/designer/*.png).

Not collected by the normal suite (no test_ prefix). Run it explicitly:

    DJANGO_ENV=test DATABASE_URL= REDIS_URL= .venv/bin/python -m pytest tests/e2e/screenshot_designer.py -q
"""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.common.actors import Actor
from apps.processes import gallery
from apps.processes.services import version_deploy
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "designer"
BPMN = Path(__file__).resolve().parents[1] / "processes" / "bpmn"
SELECT = (
    "(id) => { const m = window.FlowgateDesigner.modeler;"
    " m.get('selection').select(m.get('elementRegistry').get(id)); }"
)


def _shot(page, name: str, *, full_page: bool = False) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)
    assert (SHOTS / f"{name}.png").stat().st_size > 10_000


def _designer(page, login_as):
    page.set_viewport_size({"width": 1400, "height": 900})
    user = UserFactory(roles=["designer"], username="dana")
    login_as(page, user)
    return user


def _ready(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("#designer-canvas[data-designer-state=ready]")


@pytest.mark.parametrize("slug", [t.slug for t in gallery.templates_list()])
def test_template_screenshots(page, login_as, slug):
    _designer(page, login_as)
    _ready(page, f"/designer/new/{slug}/")
    page.locator("#designer-canvas").scroll_into_view_if_needed()
    _shot(page, f"template-{slug}")


def test_list_and_gallery_screenshots(page, login_as):
    user = _designer(page, login_as)
    for template in gallery.templates_list():
        version_deploy(xml=template.xml(), actor=Actor.for_user(user), user=user)
    page.goto("/designer/")
    _shot(page, "list")
    page.goto("/designer/new/")
    _shot(page, "gallery")


def test_condition_builder_and_properties_screenshots(page, login_as):
    _designer(page, login_as)
    _ready(page, "/designer/new/expense_approval/")
    page.evaluate(SELECT, "f_high")
    page.locator(".fg-condition-builder").scroll_into_view_if_needed()
    _shot(page, "condition-builder")
    page.evaluate(SELECT, "manager_approval")
    _shot(page, "user-task")
    page.evaluate(SELECT, "notify_requester")
    page.locator("#designer-properties .fg-pp-service").scroll_into_view_if_needed()
    _shot(page, "service-task")


def test_validation_screenshot(page, login_as):
    _designer(page, login_as)
    _ready(page, "/designer/new/expense_approval/")
    page.evaluate(
        """() => { const m = window.FlowgateDesigner.modeler, r = m.get('elementRegistry');
        m.get('modeling').updateProperties(r.get('manager_approval'), {'flowgate:candidateGroups': undefined});
        m.get('modeling').updateProperties(r.get('f_high'), {conditionExpression: undefined}); }"""
    )
    page.get_by_role("button", name="Validate").click()
    page.locator("#designer-problems").get_by_text("must be fixed").wait_for()
    page.locator("#designer-problems").scroll_into_view_if_needed()
    _shot(page, "validation", full_page=True)


def test_versions_and_compare_screenshots(page, login_as):
    user = _designer(page, login_as)
    xml = gallery.template_get(slug="expense_approval").xml()
    version_deploy(xml=xml, actor=Actor.for_user(user), user=user, comment="From the template")
    changed = xml.replace(
        'flowgate:candidateGroups="manager"', 'flowgate:candidateGroups="approver"'
    )
    changed = changed.replace('flowgate:dueDate="P1D"', 'flowgate:dueDate="P2D"')
    version_deploy(xml=changed, actor=Actor.for_user(user), user=user, comment="Approvers, 2 days")
    page.goto("/designer/expense_approval/compare/")
    page.wait_for_selector(".fg-diagram-viewer[data-viewer-name=after][data-viewer-state=ready]")
    _shot(page, "compare", full_page=True)
    _ready(page, "/designer/expense_approval/")
    page.locator("#designer-versions").scroll_into_view_if_needed()
    _shot(page, "history")


def test_test_run_screenshot(page, login_as):
    user = _designer(page, login_as)
    version_deploy(
        xml=gallery.template_get(slug="expense_approval").xml(), actor=Actor.for_user(user)
    )
    _ready(page, "/designer/expense_approval/")
    panel = page.locator("#designer-testrun")
    panel.get_by_label("Sample variables (JSON object)").fill(
        '{"amount": 5000, "description": "laptop"}'
    )
    panel.get_by_role("button", name="Start test run").click()
    panel.locator(".fg-testrun-status").get_by_text("waits at").wait_for()
    page.locator("#designer-canvas").scroll_into_view_if_needed()
    _shot(page, "test-run", full_page=True)


def test_import_screenshot(page, login_as):
    _designer(page, login_as)
    _ready(page, "/designer/new/blank/")
    page.get_by_label("Open BPMN file").set_input_files(
        files=[
            {
                "name": "order.bpmn",
                "mimeType": "application/xml",
                "buffer": (BPMN / "camunda8_order.bpmn").read_bytes(),
            }
        ]
    )
    page.locator("#designer-problems").get_by_text("Imported:").wait_for()
    page.locator("#designer-problems").get_by_text("What was mapped").click()
    _shot(page, "import", full_page=True)
