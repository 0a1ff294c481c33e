// Variables a gateway's conditions can use: what the elements upstream of it produce (start
// form and task form fields, approval outcomes, connector outputs and set_variables keys).

const is = (bo, type) => Boolean(bo && bo.$instanceOf && bo.$instanceOf(type));

function extensions(bo, type) {
  const ext = bo.extensionElements;
  return ext ? (ext.get("values") || []).filter((v) => is(v, type)) : [];
}

function formFields(schemaText) {
  let schema;
  try {
    schema = JSON.parse(schemaText || "");
  } catch {
    return [];
  }
  const found = [];
  const walk = (components) =>
    (components || []).forEach((c) => {
      if (c && typeof c.key === "string" && c.key) found.push({ name: c.key, type: c.type || "" });
      if (c && Array.isArray(c.components)) walk(c.components);
    });
  walk(schema && schema.components);
  return found;
}

/** [{name, source, type}] produced by ``bo`` itself. */
export function producedBy(bo) {
  const label = bo.name || bo.id;
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
        for (const m of (i.get("expression") || "").matchAll(/['"]([A-Za-z_]\w*)['"]\s*:/g)) {
          out.push({ name: m[1], type: "", source: `set by ${label}` });
        }
      });
  }
  return out;
}

/** Everything produced upstream of ``node`` (a business object), nearest first, unique names. */
export function upstreamVariables(node) {
  const seen = new Set();
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
