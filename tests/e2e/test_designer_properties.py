"""The Flowgate groups of the properties panel: due date and SLA pickers, approval settings,
the "2 of 3 approve" preset and a timer with its plain-language preview; the server accepts
the result."""

from __future__ import annotations

import pytest

from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BUILD = """() => {
    const m = window.FlowgateDesigner.modeler;
    const reg = m.get('elementRegistry'), factory = m.get('elementFactory');
    const modeling = m.get('modeling');
    const task = modeling.appendShape(reg.get('StartEvent_1'),
        factory.createShape({type: 'bpmn:UserTask'}), {x: 320, y: 178});
    modeling.updateProperties(task, {id: 'cab', name: 'CAB approval'});
    const timer = modeling.appendShape(task, factory.createShape(
        {type: 'bpmn:IntermediateCatchEvent', eventDefinitionType: 'bpmn:TimerEventDefinition'}),
        {x: 470, y: 178});
    modeling.updateProperties(timer, {id: 'wait'});
    modeling.appendShape(timer, factory.createShape({type: 'bpmn:EndEvent'}), {x: 580, y: 178});
    const loop = m.get('moddle').create('bpmn:MultiInstanceLoopCharacteristics');
    modeling.updateProperties(task, {loopCharacteristics: loop});
}"""
SELECT = (
    "(id) => { const m = window.FlowgateDesigner.modeler;"
    " m.get('selection').select(m.get('elementRegistry').get(id)); }"
)
XML = "() => window.FlowgateDesigner.getXml()"


def test_people_deadlines_approval_presets_and_timer_preview(page, login_as, axe_check):
    login_as(page, UserFactory(roles=["designer"], username="dana"))
    page.goto("/designer/new/blank/")
    page.wait_for_selector("#designer-canvas[data-designer-state=ready]")
    page.evaluate(BUILD)
    page.evaluate(SELECT, "cab")
    panel = page.locator("#designer-properties")

    panel.get_by_role("checkbox", name="approver").check()
    users = page.evaluate(
        "() => [...document.querySelectorAll('#designer-properties datalist option')]"
        ".map(o => o.value)"
    )
    assert "dana" in users  # candidate users are suggested from the server
    panel.get_by_label("Due", exact=True).fill("2")
    panel.get_by_label("Due unit").select_option("D")
    panel.get_by_label("Due", exact=True).press("Tab")
    warning = panel.get_by_label("SLA warning after (ISO-8601 or expression)")
    warning.fill("PT20H")
    warning.press("Tab")
    assert (
        "Now: 20 hours after it is reached."
        in panel.locator("[data-field$=sla-warning]").inner_text()
    )
    assert panel.get_by_label("SLA warning after", exact=True).input_value() == "20"
    panel.get_by_label("This step approves or rejects").check()
    panel.get_by_label("A comment is required to reject").check()
    panel.get_by_label("Four-eyes: the requester may not approve").check()
    panel.get_by_role("button", name="2 of 3 approve").click()
    assert (
        panel.get_by_role("button", name="2 of 3 approve").get_attribute("aria-pressed") == "true"
    )
    assert axe_check(page) == []

    xml = page.evaluate(XML)
    for fragment in (
        'flowgate:candidateGroups="approver"',
        'flowgate:dueDate="P2D"',
        'flowgate:slaWarning="PT20H"',
        'flowgate:approval="true"',
        'flowgate:rejectCommentRequired="true"',
        'flowgate:fourEyes="requester"',
        '<bpmn:loopCardinality xsi:type="bpmn:tFormalExpression">3</bpmn:loopCardinality>',
        "nrOfApproved &gt;= 2 or nrOfRejected &gt;= 2</bpmn:completionCondition>",
    ):
        assert fragment in xml, fragment

    page.evaluate(SELECT, "wait")
    preview = panel.locator(".fg-timer-preview")
    assert preview.inner_text().startswith("Choose when this timer fires.")
    preview.get_by_role("button", name="1 hour").click()
    preview.get_by_text("Fires 1 hour after it is reached.").wait_for()
    assert "<bpmn:timeDuration" in page.evaluate(XML)

    page.get_by_role("button", name="Validate").click()
    page.locator("#designer-problems").get_by_text(
        "No problems found: the process can be deployed."
    ).wait_for()
    assert page.js_errors == []


PREVIEWS = """(cases) => cases.map(([kind, value]) =>
    window.FlowgateDesigner.durations.timerPreview(kind, value))"""


def test_timer_previews_in_plain_language(page, login_as):
    login_as(page, UserFactory(roles=["designer"]))
    page.goto("/designer/new/blank/")
    page.wait_for_selector("#designer-canvas[data-designer-state=ready]")
    cases = [
        ["cycle", "0 9 * * 1"],
        ["cycle", "0 9 * * 1-5"],
        ["cycle", "30 8 * * *"],
        ["cycle", "R/P1D"],
        ["cycle", "R3/PT1H"],
        ["duration", "PT1H30M"],
        ["date", "2030-01-31T09:00:00Z"],
        ["duration", "${wait_for}"],
        ["duration", "soon"],
    ]
    assert page.evaluate(PREVIEWS, cases) == [
        "every Monday at 09:00",
        "every weekday at 09:00",
        "every day at 08:30",
        "every day",
        "every hour, 3 times",
        "1 hour 30 minutes after it is reached",
        "on 2030-01-31 09:00 UTC",
        "when the expression ${wait_for} says (evaluated when the timer starts)",
        "when the expression soon says (evaluated when the timer starts)",
    ]


def test_the_connectors_schema_suggests_its_inputs(page, login_as):
    login_as(page, UserFactory(roles=["designer"]))
    page.goto("/designer/new/blank/")
    page.wait_for_selector("#designer-canvas[data-designer-state=ready]")
    page.evaluate(
        """() => { const m = window.FlowgateDesigner.modeler;
        const shape = m.get('modeling').appendShape(m.get('elementRegistry').get('StartEvent_1'),
            m.get('elementFactory').createShape({type: 'bpmn:ServiceTask'}), {x: 320, y: 178});
        m.get('selection').select(shape); }"""
    )
    panel = page.locator("#designer-flowgate")
    panel.get_by_label("Connector").fill("email")
    panel.get_by_label("Connector").press("Tab")
    hint = panel.locator(".fg-connector-params")
    assert hint.inner_text() == (
        "Send e-mail takes: subject (required), body (required), to, roles, from_email, "
        "reply_to. Still missing: subject, body."
    )
    panel.get_by_role("button", name="Add input").click()
    suggestions = page.evaluate(
        "() => { const input = document.querySelector('[aria-label=\"Inputs 1 name\"]');"
        " return [...input.list.options].map(o => o.value); }"
    )
    assert suggestions == ["subject", "body", "to", "roles", "from_email", "reply_to"]
    panel.get_by_label("Inputs 1 name").fill("subject")
    panel.get_by_label("Inputs 1 expression").fill("'Hello'")
    panel.get_by_label("Inputs 1 expression").press("Tab")
    panel.get_by_label("Connector").fill("set_variables")
    panel.get_by_label("Connector").press("Tab")
    assert hint.inner_text() == "Set variables takes: variables."
