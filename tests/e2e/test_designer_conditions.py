"""A designer builds a process in the browser: a user task for a candidate role, an exclusive
gateway whose condition is made in the condition builder (no typing of expressions), a default
flow; the server accepts it and deploys."""

from __future__ import annotations

import pytest

from apps.processes.models import ProcessVersion
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BUILD = """() => {
    const m = window.FlowgateDesigner.modeler;
    const reg = m.get('elementRegistry'), factory = m.get('elementFactory');
    const modeling = m.get('modeling');
    const start = reg.get('StartEvent_1');
    const form = JSON.stringify({type: 'default', components: [
        {type: 'number', key: 'amount', label: 'Amount'},
        {type: 'textfield', key: 'region', label: 'Region'}]});
    const moddle = m.get('moddle');
    const ext = moddle.create('bpmn:ExtensionElements', {values: [moddle.create('flowgate:Form', {schema: form})]});
    modeling.updateProperties(start, {extensionElements: ext});
    const task = modeling.appendShape(start, factory.createShape({type: 'bpmn:UserTask'}), {x: 320, y: 178});
    modeling.updateProperties(task, {id: 'review', name: 'Review'});
    const gw = modeling.appendShape(task, factory.createShape({type: 'bpmn:ExclusiveGateway'}), {x: 470, y: 178});
    modeling.updateProperties(gw, {id: 'check'});
    const big = modeling.appendShape(gw, factory.createShape({type: 'bpmn:EndEvent'}), {x: 580, y: 100});
    const small = modeling.appendShape(gw, factory.createShape({type: 'bpmn:EndEvent'}), {x: 580, y: 260});
    const flows = gw.outgoing.map(f => f.id);
    modeling.updateProperties(gw.outgoing[0], {id: 'f_big'});
    modeling.updateProperties(gw.outgoing[1], {id: 'f_small'});
    return flows;
}"""

SELECT = "(id) => { const m = window.FlowgateDesigner.modeler; m.get('selection').select(m.get('elementRegistry').get(id)); }"
FLOW = """(id) => { const bo = window.FlowgateDesigner.modeler.get('elementRegistry').get(id).businessObject;
    return [bo.name || null, bo.conditionExpression ? bo.conditionExpression.body : null,
            bo.sourceRef.default ? bo.sourceRef.default.id : null]; }"""


def test_a_user_task_for_a_role_and_a_gateway_condition_made_in_the_builder(
    page, login_as, axe_check
):
    login_as(page, UserFactory(roles=["designer"]))
    page.goto("/designer/new/blank/")
    page.wait_for_selector("#designer-canvas[data-designer-state=ready]")
    page.evaluate(BUILD)

    page.evaluate(SELECT, "review")
    people = page.locator("#designer-properties")
    assert people.locator(".fg-pp-roles input[type=checkbox]").evaluate_all(
        "(boxes) => boxes.map(b => b.value)"
    ) == ["admin", "approver", "auditor", "designer", "manager"]  # the server's roles
    people.get_by_role("checkbox", name="manager").check()

    page.evaluate(SELECT, "f_big")
    builder = page.locator(".fg-condition-builder[data-flow=f_big]")
    builder.get_by_role("button", name="Add condition").click()
    # The variable field suggests the start form's fields (upstream of the gateway).
    options = page.evaluate(
        "() => [...document.getElementById('fg-condition-variables-f_big').options]"
        ".map(o => [o.value, o.label])"
    )
    assert options == [["amount", "start form"], ["region", "start form"]]
    builder.get_by_label("Condition 1 variable").fill("amount")
    builder.get_by_label("Condition 1 variable").press("Tab")
    builder.get_by_label("Condition 1 operator").select_option(label="is greater than")
    builder.get_by_label("Condition 1 value").fill("1000")
    builder.get_by_label("Condition 1 value").press("Tab")
    assert page.evaluate(FLOW, "f_big") == ["amount > 1000", "amount > 1000", None]

    builder.get_by_role("button", name="Add condition").click()
    builder.get_by_label("Condition 2 variable").fill("region")
    builder.get_by_label("Condition 2 variable").press("Tab")
    builder.get_by_label("Condition 2 value").fill("EU")
    builder.get_by_label("Condition 2 value").press("Tab")
    builder.get_by_label("Match").select_option("or")
    expected = "amount > 1000 or region == 'EU'"
    assert page.evaluate(FLOW, "f_big") == [expected, expected, None]
    assert axe_check(page) == []

    # Raw mode shows the same expression; one the builder cannot show stays raw, with a note.
    builder.get_by_role("button", name="Edit as expression").click()
    raw = builder.get_by_label("Condition expression")
    assert raw.input_value() == expected
    raw.fill("amount > 1000 and region == 'EU' or vip == True")
    raw.press("Tab")
    builder.get_by_role("button", name="Use the builder").click()
    builder.get_by_role("alert").get_by_text("too complex for the builder").wait_for()
    raw.fill("amount >= 5000 and contains(region, 'EU')")
    raw.press("Tab")
    builder.get_by_role("button", name="Use the builder").click()
    assert builder.get_by_label("Condition 2 operator").input_value() == "contains"
    assert builder.get_by_label("Condition 1 value").input_value() == "5000"
    label, body, _ = page.evaluate(FLOW, "f_big")
    assert body == "amount >= 5000 and contains(region, 'EU')"
    assert label == "amount >= 5000 and contains(region, 'EU…"  # long labels are shortened

    page.evaluate(SELECT, "f_small")
    page.locator(".fg-condition-builder[data-flow=f_small]").get_by_label(
        "Default flow (taken when no other condition holds)"
    ).check()
    assert page.evaluate(FLOW, "f_small") == [None, None, "f_small"]

    page.get_by_role("button", name="Validate").click()
    page.locator("#designer-problems").get_by_text(
        "No problems found: the process can be deployed."
    ).wait_for()
    with page.expect_navigation():
        page.get_by_role("button", name="Deploy").click()
    version = ProcessVersion.objects.get()
    assert version.status == "deployed"
    assert 'flowgate:candidateGroups="manager"' in version.xml
    assert "amount &gt;= 5000 and contains(region, 'EU')</bpmn:conditionExpression>" in version.xml
    assert 'default="f_small"' in version.xml
    assert page.js_errors == []


ROUND_TRIP = """(texts) => texts.map((t) => {
    const c = window.FlowgateDesigner.conditions;
    const parsed = c.parseExpression(t);
    return parsed === null ? null : [parsed.join, parsed.rows.map(r => [r.variable, r.operator, r.value]),
                                     c.toExpression(parsed)];
})"""


def test_the_builder_reads_back_what_it_can_show_and_leaves_the_rest_raw(page, login_as):
    login_as(page, UserFactory(roles=["designer"]))
    page.goto("/designer/new/blank/")
    page.wait_for_selector("#designer-canvas[data-designer-state=ready]")
    texts = [
        "amount>1000",
        "approved == True",
        "region == \"EU\" or region == 'CH'",
        "code == '1000'",
        "not contains(tags, 'vip')",
        "amount > 1000 and region == 'EU' or vip",
        "len(items) > 3",
        "${amount > 1000}",
        "(amount > 1000)",
    ]
    assert page.evaluate(ROUND_TRIP, texts) == [
        ["and", [["amount", ">", "1000"]], "amount > 1000"],
        ["and", [["approved", "==", "true"]], "approved == True"],
        [
            "or",
            [["region", "==", "EU"], ["region", "==", "CH"]],
            "region == 'EU' or region == 'CH'",
        ],
        ["and", [["code", "==", "'1000'"]], "code == '1000'"],
        ["and", [["tags", "not contains", "vip"]], "not contains(tags, 'vip')"],
        None,
        None,
        None,
        None,
    ]


OPTION_FIT = """(select) => {
    const style = getComputedStyle(select);
    const ctx = document.createElement('canvas').getContext('2d');
    ctx.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
    const widest = Math.max(...[...select.options].map(o => ctx.measureText(o.label).width));
    // text + the select's padding and its arrow (about 20px in Chromium)
    return [Math.ceil(widest + parseFloat(style.paddingLeft) + parseFloat(style.paddingRight) + 20),
            select.clientWidth];
}"""


def test_operator_names_fit_and_an_incomplete_row_is_left_out(page, login_as, axe_check):
    login_as(page, UserFactory(roles=["designer"]))
    page.goto("/designer/new/expense_approval/")
    page.wait_for_selector("#designer-canvas[data-designer-state=ready]")
    page.evaluate(SELECT, "f_high")
    builder = page.locator(".fg-condition-builder[data-flow=f_high]")
    operator = builder.get_by_label("Condition 1 operator")
    needed, width = operator.evaluate(OPTION_FIT)
    assert needed <= width, f"the operator names need {needed}px, the list is {width}px wide"

    builder.get_by_role("button", name="Add condition").click()
    builder.get_by_role("button", name="Add condition").click()  # one empty row at a time
    assert builder.locator(".fg-cb-row").count() == 2
    builder.get_by_text("Not part of the condition until it has a variable and a value.").wait_for()
    assert page.evaluate(FLOW, "f_high") == ["amount > 1000", "amount > 1000", "f_low"]

    # a variable without a value is not saved as "region == ''"
    builder.get_by_label("Condition 2 variable").fill("region")
    builder.get_by_label("Condition 2 variable").press("Tab")
    assert page.evaluate(FLOW, "f_high") == ["amount > 1000", "amount > 1000", "f_low"]
    builder.get_by_label("Condition 2 operator").select_option(label="does not contain")
    builder.get_by_label("Condition 2 value").fill("EU")
    builder.get_by_label("Condition 2 value").press("Tab")
    expected = "amount > 1000 and not contains(region, 'EU')"
    assert page.evaluate(FLOW, "f_high")[1:] == [expected, "f_low"]
    assert builder.locator(".fg-cb-incomplete").count() == 0
    needed, width = builder.get_by_label("Condition 2 operator").evaluate(OPTION_FIT)
    assert needed <= width

    # emptying a row's value takes it out of the condition again; '' compares with empty text
    builder.get_by_label("Condition 2 value").fill("")
    builder.get_by_label("Condition 2 value").press("Tab")
    assert page.evaluate(FLOW, "f_high")[1] == "amount > 1000"
    builder.get_by_label("Condition 2 value").fill("''")
    builder.get_by_label("Condition 2 value").press("Tab")
    assert page.evaluate(FLOW, "f_high")[1] == "amount > 1000 and not contains(region, '')"
    assert axe_check(page, context="#designer-properties") == []
    assert page.js_errors == []
