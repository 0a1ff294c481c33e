"""The form builder (form-js editor) under the portal's strict CSP (style-src 'self', no inline
style element): adding a Text view and editing its text in the builder's properties panel (a
CodeMirror editor, which writes its styles through style-mod) raises no CSP violation, and the
form saved into the user task holds the component."""

from __future__ import annotations

import json

import pytest

from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

COLLECT_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"}`
    + ` at ${e.sourceFile || ""}:${e.lineNumber || ""}`);
});
"""
SELECT = (
    "(id) => { const m = window.FlowgateDesigner.modeler;"
    " m.get('selection').select(m.get('elementRegistry').get(id)); }"
)


FORM = {
    "type": "default",
    "components": [
        {"type": "text", "id": "intro", "text": "Hello"},
        {"type": "textfield", "id": "f_reason", "key": "reason", "label": "Reason"},
    ],
}


def test_the_form_builder_works_under_the_csp_with_no_violation(page, login_as):
    page.add_init_script(COLLECT_VIOLATIONS)
    console_errors: list[str] = []
    page.on("console", lambda m: m.type == "error" and console_errors.append(m.text))
    login_as(page, UserFactory(roles=["designer"]))
    page.goto("/designer/new/expense_approval/")
    page.wait_for_selector("#designer-canvas[data-designer-state=ready]")
    page.evaluate(SELECT, "manager_approval")
    schema = page.locator("#designer-properties").get_by_label("Form schema (form-js JSON)")
    schema.fill(json.dumps(FORM))
    schema.blur()
    page.locator("#designer-properties").get_by_role("button", name="Open form builder").click()
    dialog = page.get_by_role("dialog", name="Form for Manager approval")
    dialog.locator(".fjs-editor-container").wait_for()

    dialog.locator(".fjs-form-container .fjs-element:has(.fjs-form-field-text)").last.click()
    dialog.locator(
        ".fjs-properties-panel .bio-properties-panel-group-header", has_text="General"
    ).click()
    text = dialog.locator(".fjs-properties-panel").get_by_role("textbox", name="Text")
    text.wait_for()  # the Text view's text is a CodeMirror (templating) editor
    text.click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type("Check the receipts")
    dialog.locator(".fjs-form-container").get_by_text("Check the receipts").wait_for()
    # CodeMirror's styles apply (a constructed stylesheet, not a refused <style> element)
    assert (
        dialog.locator(".fjs-properties-panel .cm-editor").first.evaluate(
            "(e) => getComputedStyle(e).display"
        )
        == "flex"
    )
    dialog.get_by_role("button", name="Use this form").click()
    dialog.wait_for(state="detached")

    saved = json.loads(schema.input_value())
    assert [(c["type"], c.get("text")) for c in saved["components"]] == [
        ("text", "Check the receipts"),
        ("textfield", None),
    ]
    assert page.evaluate("() => window.__cspViolations") == []
    assert [e for e in console_errors if "Content Security Policy" in e] == []
    assert page.js_errors == []
