// The submit button appended to start and task forms (static/src/forms/submit-button.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { hasOwnSubmit, withSubmitButton } from "../../static/src/forms/submit-button.js";

test("a form without its own submit button gets one at the end", () => {
  const schema = { type: "default", components: [{ type: "textfield", key: "name" }] };
  const withButton = withSubmitButton(schema, "Start");
  assert.deepEqual(withButton.components, [
    { type: "textfield", key: "name" },
    { type: "button", action: "submit", label: "Start", id: "fg_submit" },
  ]);
  assert.deepEqual(schema.components.length, 1); // the given schema is not changed
  assert.deepEqual(withSubmitButton({}, "Go").components, [{ type: "button", action: "submit", label: "Go", id: "fg_submit" }]);
});

test("a form with its own submit button (even nested) is left as it is", () => {
  const schema = { components: [{ type: "group", components: [{ type: "button", action: "submit" }] }] };
  assert.equal(hasOwnSubmit(schema), true);
  assert.equal(withSubmitButton(schema, "Start"), schema);
});
