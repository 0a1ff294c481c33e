// @ts-check
// The "Condition" group of the properties panel on a gateway's outgoing flow: the no-code
// builder (rows of variable / operator / value joined by and/or), a raw-expression mode that
// returns to the builder when it can, and "default flow". Edits go through bpmn-js modeling.
import { h } from "@bpmn-io/properties-panel/preact";
import { useEffect, useState } from "@bpmn-io/properties-panel/preact/hooks";
import { useService } from "bpmn-js-properties-panel";
import { OPERATORS, isComplete, parseExpression, shorten, toExpression } from "./conditions.js";
import { upstreamVariables } from "./variables.js";
import { inputChecked, inputValue } from "./events.js";

const EMPTY_ROW = { variable: "", operator: "==", value: "" };

/** @param {FgElement | undefined} element */
export function isConditionalFlow(element) {
  const bo = element && element.businessObject;
  if (!bo || !bo.$instanceOf || !bo.$instanceOf("bpmn:SequenceFlow") || !bo.sourceRef) return false;
  return bo.sourceRef.$instanceOf("bpmn:ExclusiveGateway") || bo.sourceRef.$instanceOf("bpmn:InclusiveGateway");
}

/** @param {FgModdle} bo @returns {string} */
function conditionOf(bo) {
  return (bo.conditionExpression && bo.conditionExpression.body) || "";
}

/** @param {{ element: FgElement }} props */
export function ConditionEntry({ element }) {
  const modeling = useService("modeling");
  const bpmnFactory = useService("bpmnFactory");
  const elementRegistry = useService("elementRegistry");
  const bo = element.businessObject;
  const gateway = bo.sourceRef;
  const stored = conditionOf(bo);
  const isDefault = gateway.default === bo;
  const parsed = parseExpression(stored);
  const [mode, setMode] = useState(parsed ? "builder" : "raw");
  const [model, setModel] = useState(parsed || { join: "and", rows: [] });
  const [raw, setRaw] = useState(stored);
  const [note, setNote] = useState("");

  // Undo/redo and edits made elsewhere: show what is stored.
  useEffect(() => {
    const again = parseExpression(stored);
    if (toExpression(model) !== stored.trim()) {
      if (again) setModel(again.rows.length ? again : { join: "and", rows: [] });
      else setMode("raw");
    }
    setRaw(stored);
  }, [element.id, stored]);

  /** @param {string} body */
  const save = (body) => {
    const text = (body || "").trim();
    /** @type {Record<string, unknown>} */
    const props = {
      conditionExpression: text ? bpmnFactory.create("bpmn:FormalExpression", { body: text }) : undefined,
    };
    // A label made from the old condition (or none) follows the new condition.
    if (!bo.name || bo.name === shorten(stored)) props.name = text ? shorten(text) : undefined;
    modeling.updateProperties(element, props);
  };

  /** @param {{ join: string, rows: import("./conditions.js").Row[] }} next */
  const commitRows = (next) => {
    setModel(next);
    const text = toExpression(next);
    if (text !== stored.trim()) save(text);
  };

  // One empty row at a time: "Add condition" on a form that already has an empty row keeps it.
  const addRow = () => {
    const blank = (/** @type {import("./conditions.js").Row} */ r) => !(r.variable || "").trim() && !String(r.value ?? "").trim();
    if (!model.rows.some(blank)) setModel({ ...model, rows: [...model.rows, { ...EMPTY_ROW }] });
  };

  /** @param {number} index @param {import("./conditions.js").Row} change */
  const updateRow = (index, change) =>
    commitRows({ ...model, rows: model.rows.map((r, i) => (i === index ? { ...r, ...change } : r)) });

  /** @param {boolean} checked */
  const setDefault = (checked) => {
    const shape = elementRegistry.get(gateway.id);
    if (checked) {
      modeling.updateProperties(shape, { default: bo });
      if (stored) save("");
    } else if (isDefault) {
      modeling.updateProperties(shape, { default: undefined });
    }
  };

  const toRaw = () => {
    setRaw(toExpression(model) || stored);
    setNote("");
    setMode("raw");
  };
  const toBuilder = () => {
    const again = parseExpression(raw);
    if (!again) {
      setNote("This expression is too complex for the builder (for example it mixes 'and' with 'or' or calls functions): keep editing it as an expression.");
      return;
    }
    setNote("");
    setModel(again);
    setMode("builder");
  };

  const variables = upstreamVariables(gateway);
  const listId = `fg-condition-variables-${bo.id}`;
  const prefix = `fg-condition-${bo.id}`;

  const defaultBox = h("div", { class: "fg-cb-default" },
    h("input", { type: "checkbox", id: `${prefix}-default`, checked: isDefault, onChange: (/** @type {Event} */ e) => setDefault(inputChecked(e)) }),
    h("label", { for: `${prefix}-default` }, " Default flow (taken when no other condition holds)"),
  );
  if (isDefault) {
    return h("div", { class: "fg-condition-builder", "data-flow": bo.id }, defaultBox);
  }

  const builder = h("fieldset", { class: "fg-cb-rows" },
    h("legend", null, "Take this flow when"),
    model.rows.filter(isComplete).length > 1
      ? h("div", { class: "fg-cb-join" },
          h("label", { for: `${prefix}-join` }, "Match "),
          h("select", { id: `${prefix}-join`, value: model.join, onChange: (/** @type {Event} */ e) => commitRows({ ...model, join: inputValue(e) }) },
            h("option", { value: "and" }, "all of these (and)"),
            h("option", { value: "or" }, "any of these (or)"),
          ))
      : null,
    ...model.rows.map((row, index) => {
      const n = index + 1;
      const complete = isComplete(row);
      return h("div", { class: "fg-cb-row", "data-row": n, "data-complete": complete ? "true" : "false", key: n },
        index > 0 ? h("span", { class: "fg-cb-joinword", "aria-hidden": "true" }, model.join) : null,
        h("input", { type: "text", list: listId, value: row.variable, "aria-label": `Condition ${n} variable`, placeholder: "variable",
          "aria-describedby": complete ? undefined : `${prefix}-row-${n}-note`,
          onChange: (/** @type {Event} */ e) => updateRow(index, { variable: inputValue(e).trim() }) }),
        h("select", { value: row.operator, "aria-label": `Condition ${n} operator`, onChange: (/** @type {Event} */ e) => updateRow(index, { operator: inputValue(e) }) },
          ...OPERATORS.map((op) => h("option", { value: op.value }, op.label))),
        h("input", { type: "text", value: row.value, "aria-label": `Condition ${n} value`, placeholder: "value",
          onChange: (/** @type {Event} */ e) => updateRow(index, { value: inputValue(e) }) }),
        h("button", { type: "button", class: "fg-cb-remove", "aria-label": `Remove condition ${n}`,
          onClick: () => commitRows({ ...model, rows: model.rows.filter((_, i) => i !== index) }) }, "×"),
        complete ? null : h("p", { class: "fg-cb-incomplete", id: `${prefix}-row-${n}-note` },
          "Not part of the condition until it has a variable and a value."),
      );
    }),
    h("datalist", { id: listId }, ...variables.map((v) => h("option", { value: v.name, label: v.source }))),
    h("div", { class: "fg-cb-actions" },
      h("button", { type: "button", class: "fg-cb-add", onClick: addRow }, "Add condition"),
      h("button", { type: "button", class: "fg-cb-mode", onClick: toRaw }, "Edit as expression"),
    ),
    h("p", { class: "fg-cb-preview", "aria-live": "polite" }, stored ? `Expression: ${stored}` : "No condition yet."),
  );

  const rawMode = h("div", { class: "fg-cb-raw" },
    h("label", { for: `${prefix}-raw` }, "Condition expression"),
    h("textarea", { id: `${prefix}-raw`, rows: 3, value: raw, spellcheck: false, "aria-describedby": `${prefix}-raw-help`,
      onInput: (/** @type {Event} */ e) => setRaw(inputValue(e)), onChange: (/** @type {Event} */ e) => save(inputValue(e)) }),
    h("p", { id: `${prefix}-raw-help`, class: "fg-cb-help" }, "For example amount > 1000 and region == 'EU'. The server checks it when you validate."),
    note ? h("p", { class: "fg-cb-note", role: "alert" }, note) : null,
    h("button", { type: "button", class: "fg-cb-mode", onClick: toBuilder }, "Use the builder"),
  );

  return h("div", { class: "fg-condition-builder", "data-flow": bo.id, "data-mode": mode },
    defaultBox,
    mode === "builder" ? builder : rawMode,
  );
}
