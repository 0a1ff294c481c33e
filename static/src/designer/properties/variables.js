// @ts-check
// Variables a gateway's conditions can use: what the elements upstream of it produce (start
// form and task form fields, approval outcomes, connector outputs and set_variables keys).

/** A moddle element as bpmn-js gives it: only what this module reads.
 * @typedef {{
 *   id?: string, name?: string, $instanceOf?: (type: string) => boolean,
 *   get: (name: string) => any, extensionElements?: ModdleElement,
 *   incoming?: { sourceRef?: ModdleElement }[], attachedToRef?: ModdleElement,
 * }} ModdleElement */
/** A variable an element produces, and where it comes from (shown in the condition builder).
 * @typedef {{ name: string, type: string, source: string }} Variable */
/** A form-js component (only what this module reads).
 * @typedef {{ key?: unknown, type?: string, components?: FormComponent[] }} FormComponent */

/** @param {ModdleElement | undefined} bo @param {string} type */
const is = (bo, type) => Boolean(bo && bo.$instanceOf && bo.$instanceOf(type));

/** @param {ModdleElement} bo @param {string} type @returns {ModdleElement[]} */
function extensions(bo, type) {
  const ext = bo.extensionElements;
  return ext ? (ext.get("values") || []).filter((/** @type {ModdleElement} */ v) => is(v, type)) : [];
}

/** @param {string | undefined} schemaText @returns {{ name: string, type: string }[]} */
function formFields(schemaText) {
  let schema;
  try {
    schema = JSON.parse(schemaText || "");
  } catch {
    return [];
  }
  /** @type {{ name: string, type: string }[]} */
  const found = [];
  /** @param {(FormComponent | null)[] | undefined} components */
  const walk = (components) =>
    (components || []).forEach((c) => {
      if (c && typeof c.key === "string" && c.key) found.push({ name: c.key, type: c.type || "" });
      if (c && Array.isArray(c.components)) walk(c.components);
    });
  walk(schema && schema.components);
  return found;
}

/** [{name, source, type}] produced by ``bo`` itself.
 * @param {ModdleElement} bo @returns {Variable[]} */
export function producedBy(bo) {
  const label = bo.name || bo.id;
  /** @type {Variable[]} */
  const out = [];
  extensions(bo, "flowgate:Form").forEach((form) =>
    formFields(form.get("schema")).forEach((f) =>
      out.push({ name: f.name, type: f.type, source: is(bo, "bpmn:StartEvent") ? "start form" : `form of ${label}` }),
    ),
  );
  if (is(bo, "bpmn:UserTask") && bo.get("flowgate:approval")) {
    const outcome = bo.get("flowgate:outcomeVariable") || "outcome";
    out.push({ name: outcome, type: "approval", source: `outcome of ${label}` });
    if (outcome !== "approved") out.push({ name: "approved", type: "checkbox", source: `outcome of ${label}` });
  }
  const outputs = extensions(bo, "flowgate:Output");
  outputs.forEach((o) => o.get("name") && out.push({ name: o.get("name"), type: "", source: `output of ${label}` }));
  if (!outputs.length && bo.get && bo.get("flowgate:connector") === "set_variables") {
    extensions(bo, "flowgate:Input")
      .filter((i) => i.get("name") === "variables")
      .forEach((i) => {
        for (const m of /** @type {string} */ (i.get("expression") || "").matchAll(/['"]([A-Za-z_]\w*)['"]\s*:/g)) {
          out.push({ name: m[1], type: "", source: `set by ${label}` });
        }
      });
  }
  return out;
}

/** Everything produced upstream of ``node`` (a business object), nearest first, unique names.
 * @param {ModdleElement} node @returns {Variable[]} */
export function upstreamVariables(node) {
  /** @type {Set<ModdleElement>} */
  const seen = new Set();
  /** @type {Map<string, Variable>} */
  const names = new Map();
  const queue = [...(node.incoming || []).map((f) => f.sourceRef)];
  while (queue.length) {
    const current = queue.shift();
    if (!current || seen.has(current)) continue;
    seen.add(current);
    producedBy(current).forEach((v) => {
      if (!names.has(v.name)) names.set(v.name, v);
    });
    // A boundary event's variables come after its task ran; follow the task too.
    if (current.attachedToRef) queue.push(current.attachedToRef);
    (current.incoming || []).forEach((f) => queue.push(f.sourceRef));
  }
  return [...names.values()];
}
