"""Business calendars in the browser: an admin creates one with the form; a designer gives a user
task an SLA in business days, names the calendar and sees the due time the server computes."""

from __future__ import annotations

import pytest

from apps.calendars.models import BusinessCalendar
from apps.calendars.services import calendar_save
from apps.common.actors import Actor
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BUILD = """() => {
    const m = window.FlowgateDesigner.modeler;
    const reg = m.get('elementRegistry'), factory = m.get('elementFactory');
    const modeling = m.get('modeling');
    const task = modeling.appendShape(reg.get('StartEvent_1'),
        factory.createShape({type: 'bpmn:UserTask'}), {x: 320, y: 178});
    modeling.updateProperties(task, {id: 'review', name: 'Review'});
    modeling.appendShape(task, factory.createShape({type: 'bpmn:EndEvent'}), {x: 480, y: 178});
}"""
SELECT = (
    "(id) => { const m = window.FlowgateDesigner.modeler;"
    " m.get('selection').select(m.get('elementRegistry').get(id)); }"
)
XML = "() => window.FlowgateDesigner.getXml()"
WEEK = {d: "09:00-17:00" for d in ("mon", "tue", "wed", "thu", "fri")}


def test_an_admin_creates_a_calendar_with_the_form(page, login_as, axe_check):
    login_as(page, UserFactory(roles=["admin"], username="ada"))
    page.goto("/admin-reports/")
    page.get_by_role("link", name="Business calendars").click()
    page.get_by_role("link", name="New calendar").click()
    page.get_by_label("Short name").fill("berlin")
    page.locator("#id_name").fill("Berlin office")
    page.get_by_label("Time zone").fill("Europe/Berlin")
    page.get_by_label("Friday").fill("09:00-13:00")
    page.get_by_label("Saturday").fill("10:00-99:00")
    page.get_by_label("Public holidays of (country)").fill("DE")
    page.get_by_label("Region").fill("BE")
    page.get_by_role("button", name="Save").click()
    # the bad period is shown on its field
    page.locator("#id_sat_error").get_by_text("is not a time of day").wait_for()
    assert page.get_by_label("Saturday").get_attribute("aria-invalid") == "true"
    assert axe_check(page) == []
    page.get_by_label("Saturday").fill("")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("The calendar “Berlin office” is saved.").wait_for()
    row = page.locator("tr[data-slug=berlin]")
    assert "09:00-13:00" in row.inner_text() and "DE-BE" in row.inner_text()
    assert axe_check(page) == []
    saved = BusinessCalendar.objects.get(slug="berlin")
    assert (saved.fri, saved.sat, saved.holiday_subdivision) == ("09:00-13:00", "", "BE")
    assert page.js_errors == []


def test_a_designer_sets_business_time_and_a_calendar_and_sees_the_due_time(page, login_as):
    calendar_save(
        slug="berlin",
        values={"name": "Berlin", "time_zone": "Europe/Berlin", **WEEK},
        actor=Actor.system("test"),
        create=True,
    )
    login_as(page, UserFactory(roles=["designer"], username="dana"))
    page.goto("/designer/new/blank/")
    page.wait_for_selector("#designer-canvas[data-designer-state=ready]")
    page.evaluate(BUILD)
    page.evaluate(SELECT, "review")
    panel = page.locator("#designer-properties")
    panel.get_by_role("checkbox", name="approver").check()
    panel.get_by_label("Business calendar").fill("berlin")
    panel.get_by_label("Business calendar").press("Tab")
    panel.get_by_label("SLA breach after unit").select_option("BD")
    panel.get_by_label("SLA breach after", exact=True).fill("2")
    panel.get_by_label("SLA breach after", exact=True).press("Tab")
    field = panel.locator("[data-field$=sla-breach]")
    field.get_by_text("If created now: due").wait_for()
    assert "(the berlin calendar)." in field.inner_text()
    suggestions = page.evaluate(
        "() => [...document.querySelectorAll('#designer-properties datalist option')]"
        ".map(o => o.value)"
    )
    assert "berlin" in suggestions
    xml = page.evaluate(XML)
    assert 'flowgate:slaBreach="2 business days"' in xml
    assert 'flowgate:calendar="berlin"' in xml
    page.get_by_role("button", name="Validate").click()
    page.locator("#designer-problems").get_by_text(
        "No problems found: the process can be deployed."
    ).wait_for()
    assert page.js_errors == []
