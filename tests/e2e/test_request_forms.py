"""Start forms and task forms in the browser: the gallery's constraints, the approval form,
the tab order of a start page."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from apps.common.actors import Actor
from apps.engine import services as engine_services
from apps.engine.models import ProcessInstance
from apps.inbox.models import HumanTask
from apps.processes import services as process_services
from apps.processes.gallery import template_get
from tests.factories import UserFactory
from tests.inbox.conftest import BPMN

pytestmark = [pytest.mark.e2e, pytest.mark.embedded, pytest.mark.django_db(transaction=True)]


def _deploy_template(slug: str):
    result = process_services.version_deploy(
        xml=template_get(slug=slug).xml(), actor=Actor.system("test")
    )
    assert result.deployed, result.version.problems
    return result.version


def test_the_expense_start_form_refuses_a_negative_amount(page, login_as):
    # given the gallery's expense process and a requester on its start form
    _deploy_template("expense_approval")
    login_as(page, UserFactory(username="requester", roles=["approver"]))
    page.goto("/requests/new/expense_approval/")
    page.get_by_label("Amount").wait_for()
    # when they ask for -50 (which the model would approve automatically)
    page.get_by_label("Amount").fill("-50")
    page.get_by_label("Description").fill("Refund")
    page.get_by_role("button", name="Submit request").click()
    # then the amount is marked and nothing starts
    page.get_by_text("Please correct 1 field(s) marked in the form.").wait_for()
    assert page.locator(".fjs-form-field-error").first.inner_text().strip() != ""
    assert page.get_by_label("Description").get_attribute("maxlength") in (None, "200")
    assert ProcessInstance.objects.count() == 0
    assert page.js_errors == []


APPROVAL_FORM = {
    "type": "default",
    "components": [
        {
            "type": "textfield",
            "key": "cost_centre",
            "label": "Cost centre",
            "validate": {"required": True, "pattern": "CC-[0-9]{3}"},
        }
    ],
}


def _approval_with_form_xml() -> str:
    xml = (BPMN / "expense.bpmn").read_text()
    form = json.dumps(APPROVAL_FORM).replace("&", "&amp;").replace("<", "&lt;")
    return xml.replace(
        'flowgate:commentRequiredOnReject="true">',
        'flowgate:commentRequiredOnReject="true">'
        f"<bpmn:extensionElements><flowgate:form>{form}</flowgate:form></bpmn:extensionElements>",
        1,
    )


def test_an_approval_with_a_form_shows_it_and_sends_its_data_with_the_decision(
    page, login_as, axe_check
):
    # given an expense whose manager approval has a form (a cost centre to fill in)
    result = process_services.version_deploy(
        xml=_approval_with_form_xml(), actor=Actor.system("test")
    )
    assert result.deployed, result.version.problems
    requester = UserFactory(username="requester", roles=["approver"])
    boss = UserFactory(username="boss", roles=["manager"])
    instance = engine_services.instance_start(
        process_key="expense_approval",
        variables={"amount": 2500, "description": "Laptop"},
        actor=Actor.for_user(requester),
        started_by=requester,
    )
    task = HumanTask.objects.get(instance=instance)
    assert task.is_approval and task.form == APPROVAL_FORM
    # when the manager opens it
    login_as(page, boss)
    page.goto(reverse("inbox:task", args=[task.pk]))
    # then the form is there, with Approve and Reject
    field = page.get_by_label("Cost centre")
    field.wait_for()
    page.get_by_role("button", name="Approve").wait_for()
    assert axe_check(page) == []
    # Tab reaches the decision before the diagram (whose viewer holds a bpmn.io link)
    assert page.evaluate(
        """() => {
            const approve = [...document.querySelectorAll("button")]
                .find((b) => b.textContent.trim() === "Approve");
            const link = document.querySelector(".fg-diagram");
            return Boolean(approve.compareDocumentPosition(link) & Node.DOCUMENT_POSITION_FOLLOWING);
        }"""
    )
    # rejecting without the comment the model requires is refused on the comment field
    field.fill("CC-123")
    page.get_by_role("button", name="Reject").click()
    expect(page.locator("#decision-comment_error")).to_have_text("A comment is required to reject.")
    task.refresh_from_db()
    assert task.status == "open"
    # approving sends the form's data with the decision
    with page.expect_navigation(url="**/inbox/"):
        page.get_by_role("button", name="Approve").click()
    task.refresh_from_db()
    assert (task.status, task.outcome) == ("completed", "approved")
    assert task.data["cost_centre"] == "CC-123" and task.data["approved"] is True
    assert page.js_errors == []


def test_tab_on_a_start_form_reaches_submit_before_the_bpmn_io_link(page, login_as):
    # given the expense start form
    _deploy_template("expense_approval")
    login_as(page, UserFactory(username="requester", roles=["approver"]))
    page.goto("/requests/new/expense_approval/")
    page.get_by_label("Amount").wait_for()
    # when the requester tabs on from the last field
    page.get_by_label("Description").focus()
    page.keyboard.press("Tab")
    # then the next stop is the Submit button, and the bpmn.io link comes after it
    focused = page.evaluate("() => document.activeElement.textContent.trim()")
    assert focused == "Submit request"
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.title") == "Powered by bpmn.io"


def test_out_of_office_uses_the_browsers_zone_and_one_date_format(browser, live_server, login_as):
    # given a manager whose browser is in New York, in US English
    from datetime import UTC, datetime

    from apps.inbox.models import Substitution

    context = browser.new_context(
        base_url=live_server.url, locale="en-US", timezone_id="America/New_York"
    )
    page = context.new_page()
    try:
        UserFactory(username="standin", roles=["approver"])
        login_as(page, UserFactory(username="boss", roles=["manager"]))
        page.goto("/inbox/settings/")
        # the page says which zone its times are in (the cookie is set on the first page)
        page.reload()
        expect(page.get_by_test_id("ooo-zone")).to_contain_text("America/New_York")
        # when they set a substitute from 08:00 to 18:00 on their clock
        page.get_by_label("Substitute (username)").fill("standin")
        page.get_by_label("From").fill("2030-01-02T08:00")
        page.get_by_label("Until").fill("2030-01-03T18:00")
        with page.expect_navigation():
            page.get_by_role("button", name="Set substitute").click()
        # then it is stored as 08:00 New York time (13:00 UTC) and shown back as entered, in the
        # browser's own date-time format (the one its date-time inputs use)
        saved = Substitution.objects.get()
        assert saved.starts_at == datetime(2030, 1, 2, 13, 0, tzinfo=UTC)
        cells = page.locator("time[data-fg-when]")
        expect(cells.first).to_have_text("01/02/2030, 08:00 AM")
        expect(cells.nth(1)).to_have_text("01/03/2030, 06:00 PM")
    finally:
        context.close()


def test_approve_selected_asks_with_the_count_before_approving(page, login_as, axe_check):
    # given two expense approvals waiting for the manager
    result = process_services.version_deploy(
        xml=(BPMN / "expense.bpmn").read_bytes(), actor=Actor.system("test")
    )
    assert result.deployed, result.version.problems
    requester = UserFactory(username="requester", roles=["approver"])
    for amount in (2500, 3500):
        engine_services.instance_start(
            process_key="expense_approval",
            variables={"amount": amount, "description": "Trip"},
            actor=Actor.for_user(requester),
            started_by=requester,
        )
    login_as(page, UserFactory(username="boss", roles=["manager"]))
    page.goto("/inbox/")
    # when the manager ticks both and presses Approve selected
    boxes = page.locator("input[name=task]")
    expect(boxes).to_have_count(2)
    boxes.nth(0).check()
    boxes.nth(1).check()
    with page.expect_navigation():
        page.get_by_role("button", name="Approve selected").click()
    # then a confirmation names the count and nothing is approved yet
    expect(page.get_by_test_id("bulk-confirm-title")).to_have_text("Approve 2 tasks?")
    assert set(HumanTask.objects.values_list("status", flat=True)) == {"open"}
    assert axe_check(page) == []
    with page.expect_navigation(url="**/inbox/"):
        page.get_by_role("button", name="Yes, approve 2 tasks").click()
    page.get_by_text("Approved 2 task(s).").wait_for()
    assert set(HumanTask.objects.values_list("status", flat=True)) == {"completed"}
    assert page.js_errors == []
