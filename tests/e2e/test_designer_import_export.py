"""Export a diagram and import it again: the same diagram comes back. A Camunda 8 file opens
with its settings mapped and its full-FEEL condition marked; a file without layout is laid out."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from apps.processes.models import ProcessDraft
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BPMN = Path(__file__).resolve().parents[1] / "processes" / "bpmn"
XML = "() => window.FlowgateDesigner.getXml()"


def _open(page, name: str, content: bytes) -> None:
    page.get_by_label("Open BPMN file").set_input_files(
        files=[{"name": name, "mimeType": "application/xml", "buffer": content}]
    )


def test_export_and_reimport_give_the_same_diagram(page, login_as):
    login_as(page, UserFactory(roles=["designer"]))
    page.goto("/designer/new/change_request/")
    page.wait_for_selector("#designer-canvas[data-designer-state=ready]")
    before = page.evaluate(XML)
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download BPMN").click()
    download = download_info.value
    assert download.suggested_filename.startswith("change_request_")
    exported = Path(download.path()).read_bytes()
    assert exported.decode() == before

    page.goto("/designer/new/blank/")
    page.wait_for_selector("#designer-canvas[data-designer-state=ready]")
    _open(page, download.suggested_filename, exported)
    page.locator("#designer-problems").get_by_text("Imported. No problems found.").wait_for()
    assert page.evaluate(XML) == before
    assert page.js_errors == []


def test_a_camunda_8_file_opens_mapped_laid_out_and_with_its_problem_marked(
    page, login_as, axe_check
):
    login_as(page, UserFactory(roles=["designer"]))
    page.goto("/designer/new/blank/")
    page.wait_for_selector("#designer-canvas[data-designer-state=ready]")
    _open(page, "order.bpmn", (BPMN / "camunda8_order.bpmn").read_bytes())
    problems = page.locator("#designer-problems")
    problems.get_by_text(
        "Imported: the file had no diagram layout, so Flowgate arranged the elements "
        "automatically; 10 setting(s) were mapped to Flowgate settings. 1 problem(s) must be "
        "fixed before deploying."
    ).wait_for()
    button = problems.locator("button[data-element-id=f_odd]")
    assert "FEEL beyond the common subset" in button.inner_text()
    assert page.locator(".djs-element.fg-problem[data-element-id=f_odd]").count() == 1
    problems.get_by_text("What was mapped (10)").click()
    assert "review: zeebe assignee '=owner' -> assignee '${owner}'" in problems.inner_text()
    xml = page.evaluate(XML)
    assert "<bpmndi:BPMNShape" in xml and 'flowgate:connector="echo"' in xml
    page.evaluate(
        "() => { const m = window.FlowgateDesigner.modeler;"
        " m.get('selection').select(m.get('elementRegistry').get('review')); }"
    )
    people = page.locator("#designer-properties")
    assert people.get_by_label("Assignee", exact=True).input_value() == "${owner}"
    assert people.get_by_role("checkbox", name="manager").is_checked()
    assert people.get_by_role("checkbox", name="approver").is_checked()
    assert axe_check(page) == []
    assert page.js_errors == []


def test_a_file_opened_into_a_new_process_is_stored_as_its_draft(page, login_as):
    """Opening a file replaces the diagram without an undoable change: it used to say "All
    changes saved" and store nothing, so the process's address answered 404."""
    user = UserFactory(roles=["designer"])
    login_as(page, user)
    page.goto("/designer/new/blank/")
    page.wait_for_selector("#designer-canvas[data-designer-state=ready]")
    state = page.locator("#designer-save-state")
    assert state.inner_text() == "Not saved yet: your first change is saved as your draft"
    _open(page, "order.bpmn", (BPMN / "camunda8_order.bpmn").read_bytes())
    page.wait_for_selector("#designer-save-state[data-state=saved]")
    assert state.inner_text().startswith("Saved ")
    draft = ProcessDraft.objects.get(user=user)
    assert draft.key == "order_c8"
    assert 'id="f_odd"' in draft.xml
    assert urlsplit(page.url).path == "/designer/order_c8/"
    page.reload()
    page.wait_for_selector("#designer-canvas[data-designer-state=ready]")
    assert "You are editing your unsaved draft" in page.locator(".fg-draft-banner").inner_text()
    assert page.locator(".djs-element[data-element-id=f_odd]").count() == 1
    assert page.js_errors == []


def test_import_and_validate_agree_on_the_problems(page, login_as):
    """A Camunda 8 file said "1 problem(s) must be fixed" when opened (a setting the import had
    dropped) and Validate then found none: both now run the same check on the same diagram, and
    the dropped setting is listed apart, by the name of its task."""
    login_as(page, UserFactory(roles=["designer"]))
    page.goto("/designer/new/blank/")
    page.wait_for_selector("#designer-canvas[data-designer-state=ready]")
    xml = (BPMN / "camunda8_order.bpmn").read_text()
    dropped = xml.replace('assignee="=owner"', 'assignee="=some x in owners satisfies x.active"')
    _open(page, "order.bpmn", dropped.encode())
    problems = page.locator("#designer-problems")
    problems.get_by_text("1 problem(s) must be fixed before deploying.").wait_for()
    listed = problems.locator(".fg-problem-list button[data-element-id]")
    imported = listed.all_inner_texts()
    assert len(imported) == 1 and "Path · id f_odd" in imported[0]
    warnings = problems.locator(".fg-import-warnings button")
    assert warnings.count() == 1
    assert "User task “Review order” · id review" in warnings.inner_text()
    page.get_by_role("button", name="Validate").click()
    problems.get_by_text("1 problem(s) must be fixed before deploying.", exact=True).wait_for()
    assert listed.all_inner_texts() == imported
    assert page.js_errors == []
