"""A long name on a sequence flow between two close tasks: bpmn-js wraps the label at 90px
and left it centred on the flow, over both tasks and across the line. The designer moves it
beside the flow, clear of every shape and line, in the same undoable step."""

from __future__ import annotations

import pytest

from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BUILD = """() => {
    const m = window.FlowgateDesigner.modeler;
    const reg = m.get('elementRegistry'), factory = m.get('elementFactory');
    const modeling = m.get('modeling');
    const start = reg.get('StartEvent_1');
    const a = modeling.appendShape(start, factory.createShape({type: 'bpmn:UserTask'}), {x: 320, y: 178});
    modeling.updateProperties(a, {id: 'check', name: 'Check'});
    const b = modeling.appendShape(a, factory.createShape({type: 'bpmn:UserTask'}), {x: 470, y: 178});
    modeling.updateProperties(b, {id: 'pay', name: 'Pay'});
    modeling.updateProperties(a.outgoing[0], {id: 'f_pay'});
    m.get('selection').select(a.outgoing[0]);
}"""
LABEL = """() => {
    const reg = window.FlowgateDesigner.modeler.get('elementRegistry');
    const box = (e) => ({x: e.x, y: e.y, width: e.width, height: e.height});
    const flow = reg.get('f_pay');
    return {label: flow.label && box(flow.label), name: flow.businessObject.name,
            shapes: reg.filter(e => !e.waypoints && e.parent && e !== flow.label).map(box),
            line: flow.waypoints.map(p => [p.x, p.y])};
}"""
NAME = "Checked and approved by the finance team, ready to be paid"


def _overlap(a: dict, b: dict) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


def _crosses(box: dict, line: list[list[float]]) -> bool:
    for (x1, y1), (x2, y2) in zip(line, line[1:], strict=False):
        for i in range(101):
            x, y = x1 + (x2 - x1) * i / 100, y1 + (y2 - y1) * i / 100
            if box["x"] < x < box["x"] + box["width"] and box["y"] < y < box["y"] + box["height"]:
                return True
    return False


def test_a_long_flow_label_is_placed_clear_of_the_tasks(page, login_as):
    login_as(page, UserFactory(roles=["designer"]))
    page.goto("/designer/new/blank/")
    page.wait_for_selector("#designer-canvas[data-designer-state=ready]")
    page.evaluate(BUILD)
    panel = page.locator("#designer-properties")
    panel.locator(".bio-properties-panel-group-header", has_text="General").click()
    name = panel.get_by_label("Name", exact=True)
    name.fill(NAME)
    name.press("Tab")

    placed = page.evaluate(LABEL)
    label = placed["label"]
    assert placed["name"] == NAME
    assert label["height"] > 30  # wrapped over several lines, not cut
    assert len(placed["shapes"]) == 4  # the start event, its label, the two tasks
    assert [s for s in placed["shapes"] if _overlap(label, s)] == []
    assert not _crosses(label, placed["line"])

    # the move is part of the rename: one undo restores the unnamed flow
    page.evaluate("() => window.FlowgateDesigner.modeler.get('commandStack').undo()")
    assert page.evaluate(LABEL)["name"] is None
    assert f'name="{NAME}"' not in page.evaluate("() => window.FlowgateDesigner.getXml()")
    assert page.js_errors == []
