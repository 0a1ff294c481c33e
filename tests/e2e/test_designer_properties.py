"""The Flowgate groups of the properties panel: due date and SLA pickers, approval settings,
the "2 of 3 approve" preset and a timer with its plain-language preview; the server accepts
the result."""

from __future__ import annotations

import pytest
from lxml import etree

from apps.processes.models import ProcessVersion
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
FLOWGATE = "http://flowgate.dev/schema/bpmn/1.0"
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}


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
    four_eyes = panel.get_by_label("Four-eyes: the requester may not approve")
    assert four_eyes.is_checked()  # on for approvals unless the model turns it off
    four_eyes.uncheck()
    assert 'flowgate:fourEyes="false"' in page.evaluate(XML)
    four_eyes.check()
    same = panel.get_by_label(
        "Someone who approved another step of this request may decide this one too"
    )
    assert not same.is_checked()  # one approval level per person unless the model says so
    same.check()
    assert 'flowgate:allowSameApprover="true"' in page.evaluate(XML)
    same.uncheck()
    assert "allowSameApprover" not in page.evaluate(XML)
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


SERVICE_TASK = """() => { const m = window.FlowgateDesigner.modeler;
    const modeling = m.get('modeling'), factory = m.get('elementFactory');
    const shape = modeling.appendShape(m.get('elementRegistry').get('StartEvent_1'),
        factory.createShape({type: 'bpmn:ServiceTask'}), {x: 320, y: 178});
    modeling.updateProperties(shape, {id: 'grant', name: 'Grant access'});
    modeling.appendShape(shape, factory.createShape({type: 'bpmn:EndEvent'}), {x: 480, y: 178});
    m.get('selection').select(shape); }"""


def test_a_service_task_is_bound_to_a_connector_in_the_properties_panel(page, login_as, axe_check):
    """Connector, schema-driven inputs, retries and an output, all in the panel's groups; the
    deployed version's XML holds them as Flowgate extension elements."""
    login_as(page, UserFactory(roles=["designer"]))
    page.goto("/designer/new/blank/")
    page.wait_for_selector("#designer-canvas[data-designer-state=ready]")
    page.evaluate(SERVICE_TASK)
    panel = page.locator("#designer-properties")
    assert page.locator("#designer-flowgate").count() == 0  # the old side panel is gone

    connector = panel.get_by_label("Connector", exact=True)
    options = connector.locator("option").all_inner_texts()
    assert options[0] == "Choose a connector…"
    assert "Send e-mail (email; runs with a lease)" in options
    connector.select_option("email")
    hint = panel.locator(".fg-connector-params")
    assert hint.inner_text() == (
        "Send e-mail takes: subject (required), body (required), to, roles, from_email, "
        "reply_to. Still missing: subject, body."
    )
    connector.select_option("http")
    assert hint.inner_text().startswith("HTTP request takes: method, url (required),")
    assert hint.inner_text().endswith("Still missing: url.")
    # One field per declared input; a choice list for the method, the schema's help under it.
    method = panel.get_by_label("method", exact=True)
    assert page.evaluate(
        "(id) => [...document.getElementById(id).options].map(o => o.value)",
        method.get_attribute("list"),
    )[:2] == ["'GET'", "'POST'"]
    panel.get_by_label("url (required)").fill("'https://iam.example.com/grants'")
    panel.get_by_label("url (required)").press("Tab")
    method.fill("'POST'")
    method.press("Tab")
    panel.get_by_label("timeout", exact=True).fill("30")
    panel.get_by_label("timeout", exact=True).press("Tab")
    assert "Still missing" not in hint.inner_text()
    panel.get_by_label("Max attempts").fill("5")
    panel.get_by_label("Max attempts").press("Tab")
    panel.get_by_role("button", name="Add output").click()
    panel.get_by_label("Output 1 variable").fill("grant_status")
    panel.get_by_label("Output 1 expression").fill("result['status']")
    panel.get_by_label("Output 1 expression").press("Tab")
    assert axe_check(page) == []

    page.get_by_label("Deploy comment").fill("Grant over HTTP")
    with page.expect_navigation():
        page.get_by_role("button", name="Deploy").click()
    page.wait_for_selector("#designer-canvas[data-designer-state=ready]")
    # as test_designer_flow: the deploy's own message, not only a ready canvas (under load the
    # canvas was ready before the version was there: DoesNotExist)
    page.locator("#designer-problems").get_by_text("Deployed version 1.").wait_for()
    task = etree.fromstring(ProcessVersion.objects.get().xml.encode()).find(
        ".//bpmn:serviceTask[@id='grant']", NS
    )
    assert task.get(f"{{{FLOWGATE}}}connector") == "http"
    assert task.get(f"{{{FLOWGATE}}}maxAttempts") == "5"
    mappings = [
        (etree.QName(m).localname, m.get("name"), m.get("expression"))
        for m in task.find("bpmn:extensionElements", NS)
    ]
    assert mappings == [
        ("input", "url", "'https://iam.example.com/grants'"),
        ("input", "method", "'POST'"),
        ("input", "timeout", "30"),
        ("output", "grant_status", "result['status']"),
    ]
    # Reopened, the panel shows what was saved.
    page.evaluate(SELECT, "grant")
    assert panel.get_by_label("Connector", exact=True).input_value() == "http"
    assert panel.get_by_label("timeout", exact=True).input_value() == "30"
    assert page.js_errors == []


def test_a_form_a_message_key_and_an_error_code_are_set_in_the_panel(page, login_as):
    login_as(page, UserFactory(roles=["designer"]))
    page.goto("/designer/new/blank/")
    page.wait_for_selector("#designer-canvas[data-designer-state=ready]")
    page.evaluate(
        """() => { const m = window.FlowgateDesigner.modeler;
        const modeling = m.get('modeling'), factory = m.get('elementFactory');
        const reg = m.get('elementRegistry');
        const wait = modeling.appendShape(reg.get('StartEvent_1'),
            factory.createShape({type: 'bpmn:ReceiveTask'}), {x: 320, y: 178});
        modeling.updateProperties(wait, {id: 'paid'});
        const end = modeling.appendShape(wait, factory.createShape(
            {type: 'bpmn:EndEvent', eventDefinitionType: 'bpmn:ErrorEventDefinition'}),
            {x: 480, y: 178});
        modeling.updateProperties(end, {id: 'failed'}); }"""
    )
    panel = page.locator("#designer-properties")
    page.evaluate(SELECT, "StartEvent_1")
    schema = panel.get_by_label("Form schema (form-js JSON)")
    schema.fill("{not json")
    schema.press("Tab")
    assert panel.get_by_role("alert").inner_text().startswith("The form schema is not valid JSON")
    schema.fill('{"components": [{"type": "number", "key": "amount", "label": "Amount"}]}')
    schema.press("Tab")
    assert panel.get_by_role("alert").count() == 0

    page.evaluate(SELECT, "paid")
    panel.get_by_label("Correlation key").fill("order_id")
    panel.get_by_label("Correlation key").press("Tab")

    # Known glitch (not fixed): a "Create new" error reference chosen while the autosave is
    # saving can leave the Error group without its Code field (1 run in 4-6 here); wait for it.
    page.wait_for_selector("#designer-save-state[data-state=saved]")
    page.evaluate(SELECT, "failed")  # the stock Error group: create an error, give it a code
    panel.get_by_label("Global error reference").select_option("create-new")
    panel.get_by_label("Code").fill("PAYMENT_FAILED")
    panel.get_by_label("Code").press("Tab")

    xml = page.evaluate(XML)
    assert '<flowgate:form>{"components": [{"type": "number"' in xml
    assert 'flowgate:correlationKey="order_id"' in xml
    assert 'errorCode="PAYMENT_FAILED"' in xml
    assert page.js_errors == []


TIMERS = """() => { const m = window.FlowgateDesigner.modeler;
    const modeling = m.get('modeling'), factory = m.get('elementFactory');
    const reg = m.get('elementRegistry');
    const start = reg.get('StartEvent_1');
    const wait = modeling.appendShape(start, factory.createShape(
        {type: 'bpmn:IntermediateCatchEvent', eventDefinitionType: 'bpmn:TimerEventDefinition'}),
        {x: 320, y: 178});
    modeling.updateProperties(wait, {id: 'wait'});
    const until = modeling.appendShape(wait, factory.createShape(
        {type: 'bpmn:IntermediateCatchEvent', eventDefinitionType: 'bpmn:TimerEventDefinition'}),
        {x: 420, y: 178});
    modeling.updateProperties(until, {id: 'until'});
    modeling.appendShape(until, factory.createShape({type: 'bpmn:EndEvent'}), {x: 520, y: 178});
    const replace = m.get('bpmnReplace');
    const timerStart = replace.replaceElement(start,
        {type: 'bpmn:StartEvent', eventDefinitionType: 'bpmn:TimerEventDefinition'});
    modeling.updateProperties(timerStart, {id: 'weekly'}); }"""


def _timer_body(xml: str, event_id: str) -> str:
    event = etree.fromstring(xml.encode()).find(f".//*[@id='{event_id}']")
    definition = event.find("bpmn:timerEventDefinition", NS)
    return [(etree.QName(c).localname, c.text) for c in definition][0]


def test_timer_pickers_write_durations_dates_and_weekly_schedules(page, login_as, axe_check):
    login_as(page, UserFactory(roles=["designer"]))
    page.goto("/designer/new/blank/")
    page.wait_for_selector("#designer-canvas[data-designer-state=ready]")
    page.evaluate(TIMERS)
    panel = page.locator("#designer-properties")
    preview = panel.locator(".fg-timer-preview .fg-pp-preview")

    page.evaluate(SELECT, "wait")  # a duration: amount + unit
    panel.get_by_label("Type", exact=True).select_option("timeDuration")
    panel.get_by_label("Wait for", exact=True).fill("2")
    panel.get_by_label("Wait for unit").select_option("H")
    panel.get_by_label("Wait for", exact=True).press("Tab")
    assert preview.inner_text() == "Fires 2 hours after it is reached."
    assert _timer_body(page.evaluate(XML), "wait") == ("timeDuration", "PT2H")

    page.evaluate(SELECT, "until")  # a date: the datetime-local picker, in UTC
    panel.get_by_label("Type", exact=True).select_option("timeDate")
    panel.get_by_label("Date and time (UTC)").fill("2030-01-31T09:00")
    panel.get_by_label("Date and time (UTC)").press("Tab")
    assert preview.inner_text() == "Fires on 2030-01-31 09:00 UTC."
    assert _timer_body(page.evaluate(XML), "until") == ("timeDate", "2030-01-31T09:00:00Z")

    page.evaluate(SELECT, "weekly")  # a cycle on a start event: weekday + time -> cron
    panel.get_by_label("Type", exact=True).select_option("timeCycle")
    panel.get_by_label("Repeat on").select_option("1")
    assert preview.inner_text() == "Fires every Monday at 09:00."
    panel.get_by_label("At (time of day, UTC)").fill("08:30")
    panel.get_by_label("At (time of day, UTC)").press("Tab")
    assert preview.inner_text() == "Fires every Monday at 08:30."
    assert _timer_body(page.evaluate(XML), "weekly") == ("timeCycle", "30 8 * * 1")
    panel.get_by_label("Repeat on").select_option("1-5")
    assert preview.inner_text() == "Fires every weekday at 08:30."
    assert axe_check(page) == []

    page.get_by_role("button", name="Validate").click()  # the server agrees
    page.locator("#designer-problems").get_by_text(
        "No problems found: the process can be deployed."
    ).wait_for()
    assert page.js_errors == []


SET_DURATION = """(text) => { const m = window.FlowgateDesigner.modeler;
    const timer = m.get('elementRegistry').get('wait');
    const definition = timer.businessObject.eventDefinitions[0];
    m.get('modeling').updateModdleProperties(timer, definition, {
        timeDuration: m.get('bpmnFactory').create('bpmn:FormalExpression', {body: text})});
    m.get('selection').select(timer); }"""


def test_a_timer_waits_in_business_time_picked_in_the_panel(page, login_as):
    login_as(page, UserFactory(roles=["designer"]))
    page.goto("/designer/new/blank/")
    page.wait_for_selector("#designer-canvas[data-designer-state=ready]")
    page.evaluate(BUILD)
    page.evaluate(SET_DURATION, "PT2H")
    panel = page.locator("#designer-properties")
    panel.get_by_label("Wait for unit").select_option("BD")
    assert ">2 business days</bpmn:timeDuration>" in page.evaluate(XML)
    assert "2 business days after it is reached (working time of its business calendar)" in (
        panel.locator(".fg-timer-preview").inner_text()
    )
