"""The modeler's palette at the default window size and at a small one: all of it is inside
the canvas, its start event entry is visible and places a start event, and the opened
diagram is drawn beside the palette, not under it (the template's start event was hidden)."""

from __future__ import annotations

import pytest

from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

GEOMETRY = """() => {
    const box = (el) => { const r = el.getBoundingClientRect();
        return {left: r.left, top: r.top, right: r.right, bottom: r.bottom}; };
    const entry = document.querySelector('.djs-palette .entry.bpmn-icon-start-event-none');
    const r = entry.getBoundingClientRect();
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    return {
        canvas: box(document.getElementById('designer-canvas')),
        palette: box(document.querySelector('.djs-palette')),
        entry: box(entry),
        entryOnTop: hit === entry,
        start: box(document.querySelector('[data-element-id=submit] .djs-hit')),
        startLabel: box(document.querySelector('[data-element-id=submit_label]')),
    };
}"""
START_EVENTS = (
    "() => window.FlowgateDesigner.modeler.get('elementRegistry')"
    ".filter(e => e.type === 'bpmn:StartEvent' && !e.labelTarget).length"
)


def _inside(inner: dict, outer: dict) -> bool:
    return (
        inner["left"] >= outer["left"]
        and inner["top"] >= outer["top"]
        and inner["right"] <= outer["right"]
        and inner["bottom"] <= outer["bottom"]
    )


def _apart(a: dict, b: dict) -> bool:
    return (
        a["right"] <= b["left"]
        or b["right"] <= a["left"]
        or a["bottom"] <= b["top"]
        or b["bottom"] <= a["top"]
    )


@pytest.mark.parametrize("viewport", [(1280, 800), (760, 520)])
def test_the_palette_and_its_start_event_are_visible_and_usable(page, login_as, viewport):
    width, height = viewport
    page.set_viewport_size({"width": width, "height": height})
    login_as(page, UserFactory(roles=["designer"]))
    page.goto("/designer/new/expense_approval/")
    page.wait_for_selector("#designer-canvas[data-designer-state=ready]")
    page.locator("#designer-canvas").scroll_into_view_if_needed()

    geometry = page.evaluate(GEOMETRY)
    assert _inside(geometry["palette"], geometry["canvas"]), geometry
    assert _inside(geometry["entry"], geometry["canvas"]) and geometry["entryOnTop"], geometry
    for shape in ("start", "startLabel"):  # the diagram's start event is not under the palette
        assert _apart(geometry[shape], geometry["palette"]), (shape, geometry)
        assert _inside(geometry[shape], geometry["canvas"]), (shape, geometry)

    assert page.evaluate(START_EVENTS) == 1
    page.get_by_role("button", name="Create start event").click()
    canvas, palette = geometry["canvas"], geometry["palette"]
    x = (palette["right"] + canvas["right"]) / 2
    y = canvas["bottom"] - 40
    page.mouse.move(x - 10, y - 10)
    page.mouse.move(x, y, steps=4)
    page.mouse.click(x, y)
    assert page.evaluate(START_EVENTS) == 2
    assert page.js_errors == []
