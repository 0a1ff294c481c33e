"""Sharing a process in the browser: a designer shares it with a user from the process page;
that user finds it in /designer/ and sees it read-only (a viewer, no editor). Both pages are
axe-clean."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from apps.common.actors import Actor
from apps.processes import gallery
from apps.processes.services import version_deploy
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_designer_shares_a_process_and_the_grantee_views_it_read_only(page, login_as, axe_check):
    version_deploy(
        xml=gallery.template_get(slug="expense_approval").xml(), actor=Actor.system("test")
    )
    viewer = UserFactory(roles=["approver"], username="vic")
    login_as(page, UserFactory(roles=["designer"]))
    page.goto("/designer/expense_approval/")
    page.wait_for_selector("#designer-canvas[data-designer-state=ready]")
    sharing = page.get_by_role("region", name="Who may view")
    assert "Not shared with anyone." in sharing.inner_text()
    sharing.get_by_label("Share with a user").fill("vic")
    with page.expect_navigation():
        sharing.get_by_label("Share with a user").press("Enter")  # keyboard only
    page.wait_for_selector("#designer-canvas[data-designer-state=ready]")
    assert page.locator(".fg-messages").inner_text().strip() == (
        "vic may now view expense_approval (read-only)."
    )
    assert sharing.get_by_role("button", name="Stop sharing with user vic").count() == 1
    assert axe_check(page) == []

    page.context.clear_cookies()
    login_as(page, viewer)
    page.goto("/designer/")
    page.get_by_role("link", name="Expense approval").click()
    page.wait_for_selector(".fg-diagram-viewer svg")
    assert urlsplit(page.url).path == "/designer/expense_approval/v1/"
    assert page.locator("#designer-canvas").count() == 0  # no modeler
    assert page.get_by_role("button", name="Deploy").count() == 0
    assert "shared with you to view" in page.locator(".fg-shared-note").inner_text()
    assert page.locator(".bjs-powered-by").count() == 1  # the bpmn.io watermark
    assert axe_check(page) == []
    assert page.js_errors == []
