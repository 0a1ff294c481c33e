"""Autosave: changes are saved as the person's draft with a "saved" indicator, a reload brings
them back, leaving with unsaved changes warns, deploying or discarding ends the draft."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from apps.processes.models import ProcessDraft
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

RENAME = """(name) => {
    const m = window.FlowgateDesigner.modeler;
    m.get('modeling').updateLabel(m.get('elementRegistry').get('manager_approval'), name);
}"""
LABEL = (
    "() => window.FlowgateDesigner.modeler.get('elementRegistry')"
    ".get('manager_approval').businessObject.name"
)


def test_changes_are_autosaved_restored_and_deployed(page, login_as):
    user = UserFactory(roles=["designer"])
    login_as(page, user)
    page.goto("/designer/new/expense_approval/")
    page.wait_for_selector("#designer-canvas[data-designer-state=ready]")
    state = page.locator("#designer-save-state")
    assert state.inner_text() == "Not saved yet: your first change is saved as your draft"

    page.evaluate(RENAME, "Line manager approval")
    assert state.inner_text() == "Unsaved changes"
    unsaved = page.evaluate("() => window.FlowgateDesigner.autosave.isDirty()")
    assert unsaved is True  # the page asks before it is left (beforeunload)
    page.wait_for_selector("#designer-save-state[data-state=saved]")
    assert state.inner_text().startswith("Saved ")
    draft = ProcessDraft.objects.get(user=user)
    assert draft.key.startswith("expense_approval_") and "Line manager approval" in draft.xml
    assert urlsplit(page.url).path == f"/designer/{draft.key}/"  # a reload finds the draft

    page.reload()
    page.wait_for_selector("#designer-canvas[data-designer-state=ready]")
    assert "You are editing your unsaved draft" in page.locator(".fg-draft-banner").inner_text()
    assert page.evaluate(LABEL) == "Line manager approval"
    page.goto("/designer/")
    assert draft.name.startswith("Expense approval, ")  # the process's name and the time
    assert page.locator(".fg-drafts").get_by_role("link", name=draft.name).count() == 1

    page.goto(f"/designer/{draft.key}/")
    page.wait_for_selector("#designer-canvas[data-designer-state=ready]")
    with page.expect_navigation():
        page.get_by_role("button", name="Deploy").click()
    page.wait_for_selector("#designer-canvas[data-designer-state=ready]")
    assert not ProcessDraft.objects.exists()
    assert page.locator(".fg-draft-banner").count() == 0
    assert page.evaluate(LABEL) == "Line manager approval"
    assert page.js_errors == []


def test_a_draft_can_be_discarded(page, login_as):
    user = UserFactory(roles=["designer"])
    login_as(page, user)
    page.goto("/designer/new/blank/")
    page.wait_for_selector("#designer-canvas[data-designer-state=ready]")
    page.evaluate(
        "() => { const m = window.FlowgateDesigner.modeler;"
        " m.get('modeling').updateLabel(m.get('elementRegistry').get('StartEvent_1'), 'Go'); }"
    )
    page.wait_for_selector("#designer-save-state[data-state=saved]")
    draft = ProcessDraft.objects.get(user=user)
    page.goto(f"/designer/{draft.key}/")
    page.wait_for_selector("#designer-canvas[data-designer-state=ready]")
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name="Discard draft").click()
    page.wait_for_timeout(300)  # a dismissed confirmation leaves the draft alone
    assert asked == [f"Discard the draft “{draft.name}”? Its unsaved changes are lost."]
    assert ProcessDraft.objects.exists()
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.get_by_role("button", name="Discard draft").click()
    assert urlsplit(page.url).path == "/designer/"
    assert not ProcessDraft.objects.exists()


def test_drafts_are_named_renamed_and_discarded_from_the_list(page, login_as, axe_check):
    """Drafts piled up as bare process ids with no way to throw one away from the list."""
    user = UserFactory(roles=["designer"])
    keep = ProcessDraft.objects.create(key="p_keep", user=user, xml="<x/>", name="Keep me")
    ProcessDraft.objects.create(key="p_old", user=user, xml="<x/>", name="Old try")
    login_as(page, user)
    page.goto("/designer/")
    drafts = page.locator(".fg-drafts")
    old = drafts.locator("li[data-draft-key=p_old]")
    old.get_by_text("Rename").click()
    assert axe_check(page) == []
    old.get_by_label("New name for Old try").fill("Second attempt")
    with page.expect_navigation():
        old.get_by_role("button", name="Save name").click()
    assert (
        page.get_by_role("alert")
        .or_(page.get_by_role("status"))
        .get_by_text("Renamed the draft to “Second attempt”.")
        .count()
        == 1
    )
    assert ProcessDraft.objects.get(key="p_old").name == "Second attempt"
    old = drafts.locator("li[data-draft-key=p_old]")
    assert old.get_by_role("link").inner_text() == "Second attempt"
    assert old.get_by_role("button", name="Discard draft").is_visible() is False  # confirm first
    old.get_by_text("Discard…").click()
    assert "Discard “Second attempt”?" in old.inner_text()
    with page.expect_navigation():
        old.get_by_role("button", name="Discard draft").click()
    assert list(ProcessDraft.objects.values_list("name", flat=True)) == [keep.name]
    assert drafts.locator("li").count() == 1
    assert page.js_errors == []


SELECT_TASK = """() => { const m = window.FlowgateDesigner.modeler;
    m.get('selection').select(m.get('elementRegistry').get('manager_approval')); }"""
LEAVE = "() => { window.location.href = '/designer/'; }"
ASSIGNEE = (
    "() => window.FlowgateDesigner.modeler.get('elementRegistry')"
    ".get('manager_approval').businessObject.get('flowgate:assignee')"
)


def test_leaving_with_unsaved_changes_asks_in_the_browser(page, login_as):
    """The real beforeunload dialog: asked while a change is not saved (dismiss: stay, accept:
    leave), not asked once everything is saved."""
    login_as(page, UserFactory(roles=["designer"]))
    saving = {"fail": True}

    def draft(route):
        if saving["fail"]:
            route.abort()  # the server cannot be reached: the change stays unsaved
        else:
            route.continue_()

    page.route("**/api/v1/processes/*/draft/", draft)
    page.goto("/designer/new/expense_approval/")
    page.wait_for_selector("#designer-canvas[data-designer-state=ready]")
    dialogs: list[str] = []

    def dismiss(dialog):
        dialogs.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.evaluate(SELECT_TASK)
    field = page.locator("#designer-properties").get_by_label("Assignee", exact=True)
    field.click()  # a real click and real keys: the browser only asks after the person acted
    page.keyboard.type("dana")
    page.keyboard.press("Tab")
    page.wait_for_selector("#designer-save-state[data-state=error]")
    start = page.url

    page.evaluate(LEAVE)
    page.wait_for_function("() => true")  # the dialog was answered before this runs
    assert dialogs == ["beforeunload"]
    assert page.url == start  # dismissed: the person stays, with the change
    assert page.evaluate(ASSIGNEE) == "dana"

    page.remove_listener("dialog", dismiss)
    page.once("dialog", lambda dialog: (dialogs.append(dialog.type), dialog.accept()))
    with page.expect_navigation():
        page.evaluate(LEAVE)
    assert dialogs == ["beforeunload", "beforeunload"]
    assert urlsplit(page.url).path == "/designer/"

    # Saved changes: no question.
    saving["fail"] = False
    page.goto("/designer/new/expense_approval/")
    page.wait_for_selector("#designer-canvas[data-designer-state=ready]")
    page.on("dialog", dismiss)
    page.evaluate(SELECT_TASK)
    field.click()
    page.keyboard.type("olga")
    page.keyboard.press("Tab")
    page.wait_for_selector("#designer-save-state[data-state=saved]")
    with page.expect_navigation():
        page.evaluate(LEAVE)
    assert dialogs == ["beforeunload", "beforeunload"]
    assert urlsplit(page.url).path == "/designer/"
