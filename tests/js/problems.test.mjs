// Which element and which field a designer problem leads to (static/src/designer/problems.js;
// the list itself is drawn in the browser and tested in tests/e2e).
import assert from "node:assert/strict";
import { test } from "node:test";

import { fixFieldSelector, problemTarget } from "../../static/src/designer/problems.js";

const diagram = new Set(["Task_1", "Gateway_1", "Flow_yes"]);
const inDiagram = (id) => diagram.has(id);

test("a problem leads to its related element, the flow named in its message, or its element", () => {
  assert.equal(problemTarget({ element_id: "Task_1", related_id: "Gateway_1" }, inDiagram), "Gateway_1");
  assert.equal(
    problemTarget(
      { code: "gateway_flow_without_condition", element_id: "Gateway_1", message: "The outgoing flow 'Flow_yes' has no condition." },
      inDiagram,
    ),
    "Flow_yes",
  );
  assert.equal(
    problemTarget(
      { code: "gateway_flow_without_condition", element_id: "Gateway_1", message: "The outgoing flow 'Flow_gone' has no condition." },
      inDiagram,
    ),
    "Gateway_1",
  );
  assert.equal(problemTarget({ element_id: "Task_1", related_id: "Gone" }, inDiagram), "Task_1");
  assert.equal(problemTarget({ element_id: "Gone" }, inDiagram), null); // not in the diagram
  assert.equal(problemTarget({ code: "no_start_event" }, inDiagram), null); // the whole process
});

test("the field that fixes a problem", () => {
  assert.equal(fixFieldSelector({ code: "unknown_connector" }), '#designer-properties [name="connector"]');
  assert.equal(fixFieldSelector({ code: "user_task_unassigned" }), "#designer-properties .fg-pp-roles input");
  assert.equal(fixFieldSelector({ code: "gateway_flow_without_condition" }), ".fg-condition-builder .fg-cb-add");
  assert.equal(fixFieldSelector({ code: "no_start_event" }), null);
  assert.equal(fixFieldSelector({}), null);
});
