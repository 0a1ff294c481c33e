// @ts-check
// The test panel's readable parts: a form's fields as plain inputs (the start form for the
// sample variables, a user task's form for its data), with the JSON kept one click away for
// advanced users, and variables as a name/value table.

/** A form-js component (only what the test panel reads).
 * @typedef {{
 *   key: string, type: string, label?: string, dateLabel?: string, defaultValue?: unknown,
 *   values?: { value: unknown, label?: string }[],
 * }} FormComponent */
/** An input the panel made for a component.
 * @typedef {HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement} FieldElement */

const LABELLED = new Set(["textfield", "textarea", "number", "checkbox", "select", "radio", "datetime", "checklist", "taglist"]);
let counter = 0;

/** A DOM element with attributes (false/null/undefined left out) and text content.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag @param {Record<string, unknown>} [attrs] @param {string} [text]
 * @returns {HTMLElementTagNameMap[K]} */
export function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  Object.entries(attrs).forEach(([k, v]) => {
    if (v === undefined || v === null || v === false) return;
    if (k === "className") node.className = String(v);
    else node.setAttribute(k, v === true ? "" : String(v));
  });
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A value as a person reads it: text as is, yes/no, numbers, anything else as compact JSON.
 * @param {unknown} value @returns {string} */
export function readable(value) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "string") return value === "" ? "(empty)" : value;
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "number") return String(value);
  return JSON.stringify(value);
}

/** Variables as a table (name, value), with the JSON in a disclosure underneath.
 * @param {Record<string, unknown> | null | undefined} variables
 * @param {{ jsonClass?: string }} [options] @returns {HTMLDivElement} */
export function variablesView(variables, { jsonClass = "fg-testrun-vars" } = {}) {
  const box = el("div", { className: "fg-testrun-vars-view" });
  const names = Object.keys(variables || {}).sort();
  if (!names.length) {
    box.append(el("p", { className: "small text-body-secondary mb-1" }, "No variables yet."));
  } else {
    const table = el("table", { className: "table table-sm mb-1 fg-testrun-vars-table" });
    const head = el("thead");
    const headRow = el("tr");
    headRow.append(el("th", { scope: "col" }, "Variable"), el("th", { scope: "col" }, "Value"));
    head.append(headRow);
    const body = el("tbody");
    names.forEach((name) => {
      const row = el("tr", { "data-variable": name });
      row.append(el("th", { scope: "row", className: "fw-normal" }, name), el("td", {}, readable(/** @type {Record<string, unknown>} */ (variables)[name])));
      body.append(row);
    });
    table.append(head, body);
    box.append(table);
  }
  const json = el("details", { className: "small" });
  json.append(el("summary", {}, "As JSON"), el("pre", { className: `mb-0 ${jsonClass}` }, JSON.stringify(variables || {}, null, 1)));
  box.append(json);
  return box;
}

/** @param {FormComponent} component @param {any} value @param {string} id
 * @returns {FieldElement} */
function input(component, value, id) {
  const type = component.type;
  if (type === "textarea") {
    const area = el("textarea", { id, className: "form-control form-control-sm", rows: 2 });
    area.value = value ?? "";
    return area;
  }
  if (type === "checkbox") {
    const box = el("input", { id, type: "checkbox", className: "form-check-input" });
    box.checked = Boolean(value);
    return box;
  }
  if (type === "select" || type === "radio") {
    const select = el("select", { id, className: "form-select form-select-sm" });
    select.append(el("option", { value: "" }, "—"));
    (component.values || []).forEach((option) => {
      const item = el("option", { value: String(option.value) }, option.label ?? String(option.value));
      if (String(option.value) === String(value ?? "")) item.selected = true;
      select.append(item);
    });
    return select;
  }
  const field = el("input", {
    id,
    className: "form-control form-control-sm",
    type: type === "number" ? "number" : type === "datetime" ? "date" : "text",
    step: type === "number" ? "any" : undefined,
  });
  if (Array.isArray(value)) field.value = value.join(", ");
  else field.value = value ?? "";
  return field;
}

/** The typed value of one field of the test run's start form.
 * @param {FormComponent} component @param {FieldElement} field @returns {unknown} */
function fieldValue(component, field) {
  const type = component.type;
  if (type === "checkbox") return /** @type {HTMLInputElement} */ (field).checked;
  if (type === "number") return field.value === "" ? null : Number(field.value);
  if (type === "checklist" || type === "taglist") {
    return field.value.split(",").map((v) => v.trim()).filter(Boolean);
  }
  if (type === "select" || type === "radio") {
    const chosen = (component.values || []).find((o) => String(o.value) === field.value);
    return chosen ? chosen.value : null;
  }
  return field.value;
}

/**
 * A form's fields as inputs, plus "Edit as JSON" for anything the fields do not cover.
 * ``jsonLabel`` labels the JSON textarea (``textarea``: an existing one to reuse).
 * Returns {element, read()}: read() gives the data object (throws on invalid JSON).
 * @param {{ components?: FormComponent[] } | null | undefined} schema
 * @param {{
 *   values?: Record<string, any>, jsonLabel: string, textarea?: HTMLTextAreaElement | null,
 *   parse: (text: string) => Record<string, unknown>, openWithoutFields?: boolean,
 * }} options
 * @returns {{ element: HTMLDivElement, read: () => Record<string, unknown> }}
 */
export function formFields(schema, { values = {}, jsonLabel, textarea, parse, openWithoutFields = true }) {
  const components = ((schema && schema.components) || []).filter((c) => c && c.key && LABELLED.has(c.type));
  const element = el("div", { className: "fg-testrun-fields" });
  const fields = components.map((component) => {
    counter += 1;
    const id = `fg-testrun-field-${counter}`;
    const label = component.label || component.dateLabel || component.key;
    const field = input(component, values[component.key] ?? component.defaultValue, id);
    const wrap = el("div", { className: component.type === "checkbox" ? "form-check mb-1" : "mb-1" });
    const text = el("label", { for: id, className: component.type === "checkbox" ? "form-check-label" : "form-label small mb-0" }, label);
    if (component.type === "checkbox") wrap.append(field, text);
    else wrap.append(text, field);
    element.append(wrap);
    return { component, field };
  });
  const json = textarea || el("textarea", { className: "form-control form-control-sm font-monospace", rows: 3 });
  if (!textarea) json.value = JSON.stringify(values, null, 1);
  if (!json.id) {
    counter += 1;
    json.id = `fg-testrun-json-${counter}`;
  }
  const fromFields = () => Object.fromEntries(fields.map(({ component, field }) => [component.key, fieldValue(component, field)]));
  const advanced = el("details", { className: "mt-1 fg-testrun-json" });
  const summary = fields.length ? "Edit as JSON (advanced)" : openWithoutFields ? jsonLabel : `Add data as JSON (optional)`;
  advanced.append(el("summary", { className: "small" }, summary));
  if (!textarea) {
    advanced.append(el("label", { for: json.id, className: "form-label small mb-0" }, jsonLabel), json);
  } else if (json.closest("details") == null) {
    // the page's own textarea (and its label) move into the disclosure
    const block = /** @type {HTMLElement} */ (json.parentElement);
    advanced.append(block);
  }
  // The JSON always shows what the fields hold: synced as a field changes (at once, so the JSON
  // is right the moment it is opened) and again on opening; without fields it is the only input.
  const sync = () => {
    if (!fields.length) return;
    let data;
    try { data = parse(json.value); } catch { return; } // JSON typed by hand stays until it is fixed
    json.value = JSON.stringify({ ...data, ...fromFields() }, null, 1);
  };
  fields.forEach(({ field }) => {
    field.addEventListener("input", sync);
    field.addEventListener("change", sync);
  });
  advanced.addEventListener("toggle", () => { if (advanced.open) sync(); });
  if (!fields.length && openWithoutFields) advanced.open = true;
  element.append(advanced);
  return {
    element,
    read: () => (advanced.open ? parse(json.value) : { ...parse(json.value), ...fromFields() }),
  };
}
