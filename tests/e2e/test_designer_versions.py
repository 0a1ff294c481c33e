"""Deploy a change with a comment, compare version 2 with version 1 (list and canvas), open
version 1 read-only and roll back to it, all in the browser."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from apps.common.actors import Actor
from apps.processes import gallery
from apps.processes.models import ProcessVersion
from apps.processes.services import version_deploy
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

MARKED = """(name) => {
    const v = window.FlowgateViewers[name];
    return v.get('elementRegistry').getAll()
        .map(e => [e.id, v.get('canvas').hasMarker(e, 'fg-changed') ? 'changed'
                   : v.get('canvas').hasMarker(e, 'fg-added') ? 'added'
                   : v.get('canvas').hasMarker(e, 'fg-removed') ? 'removed' : null])
        .filter(([, m]) => m);
}"""


def test_deploy_compare_version_2_with_1_and_roll_back(page, login_as, axe_check):
    user = UserFactory(roles=["designer"], username="dana")
    version_deploy(
        xml=gallery.template_get(slug="expense_approval").xml(),
        actor=Actor.for_user(user),
        user=user,
        comment="From the template",
    )
    login_as(page, user)
    page.goto("/designer/expense_approval/")
    page.wait_for_selector("#designer-canvas[data-designer-state=ready]")

    page.evaluate(
        "() => { const m = window.FlowgateDesigner.modeler;"
        " m.get('selection').select(m.get('elementRegistry').get('manager_approval')); }"
    )
    people = page.locator("#designer-properties")
    people.get_by_role("checkbox", name="manager").uncheck()
    people.get_by_role("checkbox", name="approver").check()
    page.get_by_label("Deploy comment").fill("Approvers instead of managers")
    page.get_by_role("button", name="Deploy").click()
    page.locator("#designer-problems").get_by_text("Deployed version 2.").wait_for()
    history = page.locator("#designer-versions")
    history.locator("li[data-version='2']").get_by_text("Approvers instead of managers").wait_for()

    history.get_by_role("link", name="Compare with v1").click()
    page.wait_for_selector(".fg-diagram-viewer[data-viewer-name=after][data-viewer-state=ready]")
    page.wait_for_selector(".fg-diagram-viewer[data-viewer-name=before][data-viewer-state=ready]")
    assert page.get_by_role("heading", level=1).inner_text() == "Compare version 2 with version 1"
    changes = page.locator(".fg-changes > li")
    assert changes.count() == 1
    assert changes.first.get_attribute("data-element") == "manager_approval"
    row = changes.first.locator("tbody tr")
    # The setting as the properties panel names it; the file's name of it small underneath.
    assert [" ".join(c.split()) for c in row.all_inner_texts()] == [
        "Roles who may do it flowgate:candidateGroups manager approver"
    ]
    assert "User task “Manager approval”" in changes.first.locator("button").inner_text()
    assert page.evaluate(MARKED, "after") == [["manager_approval", "changed"]]
    assert page.evaluate(MARKED, "before") == [["manager_approval", "changed"]]
    assert axe_check(page) == []

    page.goto("/designer/expense_approval/v1/")
    page.wait_for_selector(".fg-diagram-viewer[data-viewer-state=ready]")
    assert "read-only" in page.get_by_role("heading", level=1).inner_text()
    assert page.locator(".djs-palette").count() == 0  # a viewer, not the modeler
    assert axe_check(page) == []
    page.get_by_label("Rollback comment").fill("Managers again")
    # Without the tick the browser does not send the form, and the server refuses it too.
    page.get_by_role("button", name="Roll back to version 1").click()
    assert page.evaluate("() => document.getElementById('rollback-confirm').validity.valueMissing")
    assert urlsplit(page.url).path == "/designer/expense_approval/v1/"
    csrf = page.locator("form[action$='/rollback/'] input[name=csrfmiddlewaretoken]").input_value()
    refused = page.request.post(
        "/designer/expense_approval/v1/rollback/",
        form={"csrfmiddlewaretoken": csrf, "comment": "no tick"},
        headers={"Referer": page.url},
        max_redirects=0,
    )
    assert (refused.status, refused.headers["location"]) == (302, "/designer/expense_approval/v1/")
    assert ProcessVersion.objects.count() == 2
    page.get_by_label("Confirm: version 1 becomes the deployed version").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Roll back to version 1").click()
    assert urlsplit(page.url).path == "/designer/expense_approval/"
    assert "Rolled back: version 3 is version 1 deployed again." in page.inner_text(".fg-messages")
    history = page.locator(".fg-process-history li")
    assert [h.split(" · ")[1] for h in history.all_inner_texts()] == [
        "Deployed (version 3)",
        "Deployed (version 2)",
        "Deployed (version 1)",
    ]
    assert "process.deployed" not in page.locator(".fg-process-history").inner_text()
    item = page.locator("#designer-versions li[data-version='3']")
    assert "Managers again" in item.inner_text() and "Rollback to v1" in item.inner_text()
    latest = ProcessVersion.objects.get(number=3)
    assert (latest.status, latest.rollback_of.number, latest.created_by.username) == (
        "deployed",
        1,
        "dana",
    )
    assert latest.xml == ProcessVersion.objects.get(number=1).xml
    assert page.js_errors == []
