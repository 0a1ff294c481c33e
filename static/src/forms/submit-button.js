// @ts-check
// The submit button of a start or task form, as a form-js button at the end of the schema:
// it then sits inside the form, before form-js's "Powered by bpmn.io" link (the form's last
// element), so Tab goes fields -> Submit -> bpmn.io, not fields -> bpmn.io -> Submit.

/** @typedef {{ components?: object[], [key: string]: unknown }} FormSchema */

/** Whether the schema already has a submit button of its own.
 * @param {FormSchema} schema
 * @returns {boolean} */
export function hasOwnSubmit(schema) {
  return JSON.stringify(schema.components || []).includes('"action":"submit"');
}

/** The schema with a submit button labelled ``label`` appended (unless it has its own).
 * @param {FormSchema} schema
 * @param {string} label
 * @returns {FormSchema} */
export function withSubmitButton(schema, label) {
  if (hasOwnSubmit(schema)) return schema;
  return {
    ...schema,
    components: [
      ...(schema.components || []),
      { type: "button", action: "submit", label, id: "fg_submit" },
    ],
  };
}
