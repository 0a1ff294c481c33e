// @ts-check
// Properties-panel entries for what Flowgate runs: a service task's connector (from the registry)
// with its input mappings driven by the connector's own parameter schema, output mappings and
// retries; a task's or start event's form; a message's correlation key; a call activity's target
// process and version; a multi-instance collection. Everything is stored in the Flowgate moddle
// extension (flowgate: attributes and flowgate:input/output/form extension elements) and every
// edit goes through bpmn-js commands, so it can be undone. The server validates all of it again.
import { h } from "@bpmn-io/properties-panel/preact";
import { useState } from "@bpmn-io/properties-panel/preact/hooks";
import { useService } from "bpmn-js-properties-panel";
import { inputChecked, inputValue } from "./events.js";

/** JSON the page embeds with json_script (connectors, process keys), else [].
 * @param {string} id @returns {any[]} */
export function serverJson(id) {
  const node = typeof document !== "undefined" && document.getElementById(id);
  try {
    return node ? JSON.parse(/** @type {string} */ (node.textContent)) : [];
  } catch {
    return [];
  }
}

/** @param {FgModdle | undefined} bo @param {string} type */
const isA = (bo, type) => Boolean(bo && bo.$instanceOf && bo.$instanceOf(type));

/** @param {FgModdle | undefined} bo @param {string} type @returns {FgModdle[]} */
export function extensionValues(bo, type) {
  const ext = bo && bo.get("extensionElements");
  return ext ? (ext.get("values") || []).filter((/** @type {FgModdle} */ v) => isA(v, type)) : [];
}

/** @param {FgElement | undefined} element */
export function isServiceLike(element) {
  const bo = element && element.businessObject;
  return isA(bo, "bpmn:ServiceTask") || isA(bo, "bpmn:SendTask");
}

/** @param {FgElement | undefined} element */
export function isBusinessRuleTask(element) {
  return isA(element && element.businessObject, "bpmn:BusinessRuleTask");
}

/** @param {FgElement | undefined} element */
export function hasForm(element) {
  const bo = element && element.businessObject;
  return isA(bo, "bpmn:UserTask") || (isA(bo, "bpmn:StartEvent") && !(bo?.eventDefinitions || []).length);
}

/** @param {FgElement | undefined} element */
export function waitsForMessage(element) {
  const bo = element && element.businessObject;
  if (isA(bo, "bpmn:ReceiveTask")) return true;
  return isA(bo, "bpmn:CatchEvent") && (bo?.eventDefinitions || []).some((/** @type {FgModdle} */ d) => isA(d, "bpmn:MessageEventDefinition"));
}

/** Create / update / remove Flowgate extension elements of one element, each as one command. */
/** @param {FgElement} element */
function useExtensions(element) {
  const bpmnFactory = useService("bpmnFactory");
  const commandStack = useService("commandStack");
  const modeling = useService("modeling");
  const bo = element.businessObject;
  const run = (/** @type {object[]} */ commands) => commandStack.execute("properties-panel.multi-command-executor", commands);
  return {
    /** @param {string} type @param {Record<string, unknown>} props */
    add(type, props) {
      /** @type {object[]} */
      const commands = [];
      let ext = bo.get("extensionElements");
      if (!ext) {
        ext = bpmnFactory.create("bpmn:ExtensionElements", { values: [] });
        ext.$parent = bo;
        commands.push({ cmd: "element.updateModdleProperties", context: { element, moddleElement: bo, properties: { extensionElements: ext } } });
      }
      const created = bpmnFactory.create(type, props);
      created.$parent = ext;
      commands.push({ cmd: "element.updateModdleProperties", context: { element, moddleElement: ext, properties: { values: [...(ext.get("values") || []), created] } } });
      run(commands);
    },
    /** @param {FgModdle} target @param {Record<string, unknown>} props */
    update(target, props) {
      modeling.updateModdleProperties(element, target, props);
    },
    /** @param {FgModdle} target */
    remove(target) {
      const ext = bo.get("extensionElements");
      if (!ext) return;
      modeling.updateModdleProperties(element, ext, { values: ext.get("values").filter((/** @type {FgModdle} */ v) => v !== target) });
    },
  };
}

/** @param {{ id: string, text?: string }} props */
function Help({ id, text }) {
  return text ? h("p", { id, class: "fg-pp-help" }, text) : null;
}

/** @param {import("bpmn-js-properties-panel").Modeling} modeling @param {FgElement} element
 * @param {FgModdle} target @param {string} attr @param {unknown} value */
function setAttr(modeling, element, target, attr, value) {
  const clean = value === "" || value === null || value === undefined ? undefined : value;
  modeling.updateModdleProperties(element, target, { [attr]: clean });
}

// ---------------------------------------------------------------------------------------------
// Service task: connector, retries, inputs (from the connector's schema), outputs

/** @param {FgElement} element */
export function connectorOf(element) {
  const name = element.businessObject.get("flowgate:connector") || "";
  return { name, connector: serverJson("designer-connectors").find((c) => c.name === name) || null };
}

/** @param {{ element: FgElement }} props */
export function ConnectorEntry({ element }) {
  const modeling = useService("modeling");
  const bo = element.businessObject;
  const connectors = serverJson("designer-connectors");
  const { name, connector } = connectorOf(element);
  const prefix = `fg-service-${bo.id}`;
  const attempts = bo.get("flowgate:maxAttempts") || "";
  return h("div", { class: "fg-pp fg-pp-service" },
    h("div", { class: "fg-pp-field" },
      h("label", { for: `${prefix}-connector` }, "Connector"),
      h("select", { id: `${prefix}-connector`, name: "connector", value: name, "aria-describedby": `${prefix}-connector-help`,
        onChange: (/** @type {Event} */ e) => setAttr(modeling, element, bo, "flowgate:connector", inputValue(e)) },
        h("option", { value: "" }, "Choose a connector…"),
        ...connectors.map((c) => h("option", { value: c.name },
          `${c.label} (${c.name}; ${c.chainable ? "chainable: runs with the steps around it" : "runs with a lease"})`)),
        name && !connector ? h("option", { value: name }, `${name} (not registered on this server)`) : null,
      ),
      h(Help, { id: `${prefix}-connector-help`, text: connector
        ? (connector.description || `Runs the ${connector.label} connector.`)
        : "The registered connector (or Python function) this step calls." }),
    ),
    h("div", { class: "fg-pp-field" },
      h("label", { for: `${prefix}-attempts` }, "Max attempts"),
      h("input", { type: "number", min: 1, max: 25, id: `${prefix}-attempts`, name: "maxAttempts", value: attempts,
        "aria-describedby": `${prefix}-attempts-help`,
        onChange: (/** @type {Event} */ e) => setAttr(modeling, element, bo, "flowgate:maxAttempts", inputValue(e).trim()) }),
      h(Help, { id: `${prefix}-attempts-help`, text: "Tries (with growing pauses) before an incident is raised; empty means 3. A permanent error (such as a 4xx answer) is not retried." }),
    ),
  );
}

/** The summary under the inputs: what the connector takes and which required inputs are missing. */
/** @param {FgConnector} connector @param {Set<string>} mappedNames */
export function paramsSummary(connector, mappedNames) {
  const params = connector.inputs || [];
  if (!params.length) return `${connector.label} declares no inputs of its own: add the ones it needs below.`;
  const names = params.map((p) => (p.required ? `${p.name} (required)` : p.name)).join(", ");
  const missing = params.filter((p) => p.required && !mappedNames.has(p.name)).map((p) => p.name);
  return `${connector.label} takes: ${names}.${missing.length ? ` Still missing: ${missing.join(", ")}.` : ""}`;
}

/** @param {{ element: FgElement }} props */
export function InputsEntry({ element }) {
  const ext = useExtensions(element);
  const bo = element.businessObject;
  const { connector } = connectorOf(element);
  /** @type {FgConnectorParam[]} */
  const params = (connector && connector.inputs) || [];
  const mappings = extensionValues(bo, "flowgate:Input");
  const byName = new Map(mappings.map((m) => [m.get("name"), m]));
  const declared = new Set(params.map((p) => p.name));
  const others = mappings.filter((m) => !declared.has(m.get("name")));
  const prefix = `fg-input-${bo.id}`;
  const [adding, setAdding] = useState(0);

  /** @param {string} param @param {string} text */
  const setParam = (param, text) => {
    const value = text.trim();
    const existing = byName.get(param);
    if (!value) {
      if (existing) ext.remove(existing);
    } else if (existing) {
      ext.update(existing, { expression: value });
    } else {
      ext.add("flowgate:Input", { name: param, expression: value });
    }
  };

  const paramFields = params.map((p) => {
    const id = `${prefix}-${p.name}`;
    const mapped = byName.get(p.name);
    const hint = [p.description, p.type ? `Type: ${p.type}.` : "", p.example ? `e.g. ${p.example}` : ""].filter(Boolean).join(" ");
    return h("div", { class: "fg-pp-field", "data-input": p.name },
      h("label", { for: id }, p.required ? `${p.name} (required)` : p.name),
      h("input", { type: "text", id, name: `input:${p.name}`, value: (mapped && mapped.get("expression")) || "",
        list: p.choices && p.choices.length ? `${id}-choices` : undefined, spellcheck: false,
        placeholder: p.example || "expression", "aria-describedby": hint ? `${id}-help` : undefined,
        "aria-required": p.required ? "true" : undefined, onChange: (/** @type {Event} */ e) => setParam(p.name, inputValue(e)) }),
      p.choices && p.choices.length ? h("datalist", { id: `${id}-choices` }, ...p.choices.map((c) => h("option", { value: c }))) : null,
      h(Help, { id: `${id}-help`, text: hint }),
    );
  });

  const otherRows = others.map((mapping, index) => {
    const n = index + 1;
    return h("div", { class: "fg-pp-mapping", "data-other-input": n },
      h("input", { type: "text", value: mapping.get("name") || "", "aria-label": `Other input ${n} name`, placeholder: "name",
        onChange: (/** @type {Event} */ e) => ext.update(mapping, { name: inputValue(e).trim() || undefined }) }),
      h("input", { type: "text", value: mapping.get("expression") || "", "aria-label": `Other input ${n} expression`, placeholder: "expression",
        spellcheck: false, onChange: (/** @type {Event} */ e) => ext.update(mapping, { expression: inputValue(e).trim() || undefined }) }),
      h("button", { type: "button", class: "fg-pp-remove", "aria-label": `Remove other input ${n}`, onClick: () => ext.remove(mapping) }, "×"),
    );
  });

  return h("div", { class: "fg-pp fg-pp-inputs", "data-adding": adding },
    connector
      ? h("p", { class: "fg-pp-help fg-connector-params" }, paramsSummary(connector, new Set(byName.keys())))
      : h("p", { class: "fg-pp-help" }, "Choose a connector above: its inputs appear here."),
    ...paramFields,
    params.length ? h("p", { class: "fg-pp-help" }, "Each input is an expression over the process variables, such as amount * 2 or 'text'.") : null,
    others.length ? h("p", { class: "fg-pp-sub" }, connector ? `Inputs ${connector.label} does not declare` : "Inputs") : null,
    ...otherRows,
    h("button", { type: "button", class: "fg-pp-add", onClick: () => { setAdding(adding + 1); ext.add("flowgate:Input", { name: "", expression: "" }); } },
      connector && params.length ? "Add another input" : "Add input"),
  );
}

/** @param {{ element: FgElement }} props */
export function OutputsEntry({ element }) {
  const ext = useExtensions(element);
  const bo = element.businessObject;
  const mappings = extensionValues(bo, "flowgate:Output");
  const rows = mappings.map((mapping, index) => {
    const n = index + 1;
    return h("div", { class: "fg-pp-mapping", "data-output": n },
      h("input", { type: "text", value: mapping.get("name") || "", "aria-label": `Output ${n} variable`, placeholder: "variable",
        onChange: (/** @type {Event} */ e) => ext.update(mapping, { name: inputValue(e).trim() || undefined }) }),
      h("input", { type: "text", value: mapping.get("expression") || "", "aria-label": `Output ${n} expression`, placeholder: "result['field']",
        spellcheck: false, onChange: (/** @type {Event} */ e) => ext.update(mapping, { expression: inputValue(e).trim() || undefined }) }),
      h("button", { type: "button", class: "fg-pp-remove", "aria-label": `Remove output ${n}`, onClick: () => ext.remove(mapping) }, "×"),
    );
  });
  return h("div", { class: "fg-pp fg-pp-outputs" },
    h("p", { class: "fg-pp-help" }, rows.length
      ? "Each output sets a process variable from the connector's answer, named result (e.g. result['status'])."
      : "No outputs: every field of the connector's answer becomes a process variable."),
    ...rows,
    h("button", { type: "button", class: "fg-pp-add", onClick: () => ext.add("flowgate:Output", { name: "", expression: "" }) }, "Add output"),
  );
}

// ---------------------------------------------------------------------------------------------
// Form (user tasks and plain start events)

/** @param {{ element: FgElement }} props */
export function FormEntry({ element }) {
  const modeling = useService("modeling");
  const loadFormEditor = useService("config.flowgate", false)?.loadFormEditor;
  const ext = useExtensions(element);
  const bo = element.businessObject;
  const form = extensionValues(bo, "flowgate:Form")[0];
  const stored = (form && form.get("schema")) || "";
  const prefix = `fg-form-${bo.id}`;
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  /** @param {string} text */
  const saveSchema = (text) => {
    if (!text) {
      if (form) ext.remove(form);
    } else if (form) {
      ext.update(form, { schema: text });
    } else {
      ext.add("flowgate:Form", { schema: text });
    }
  };
  /** @param {string} text */
  const onSchema = (text) => {
    const value = text.trim();
    setError("");
    if (value) {
      try {
        JSON.parse(value);
      } catch (exc) {
        setError(`The form schema is not valid JSON: ${/** @type {Error} */ (exc).message}`);
      }
    }
    saveSchema(value);
  };
  const openBuilder = async () => {
    let initial = null;
    try {
      initial = stored.trim() ? JSON.parse(stored) : null;
    } catch {
      setError("Fix the JSON below (or clear it) before opening the form builder.");
      return;
    }
    setBusy(true);
    try {
      if (!loadFormEditor) throw new Error("The form builder is not available on this page.");
      const builder = await loadFormEditor();
      const saved = await builder.open({ schema: initial, title: `Form for ${bo.name || bo.id}` });
      if (saved) saveSchema(JSON.stringify(saved, null, 2));
    } catch (exc) {
      setError((exc instanceof Error && exc.message) || String(exc));
    } finally {
      setBusy(false);
    }
  };

  return h("div", { class: "fg-pp fg-pp-form" },
    isA(bo, "bpmn:UserTask")
      ? h("div", { class: "fg-pp-field" },
          h("label", { for: `${prefix}-key` }, "Form key"),
          h("input", { type: "text", id: `${prefix}-key`, name: "formKey", value: bo.get("flowgate:formKey") || "",
            "aria-describedby": `${prefix}-key-help`, onChange: (/** @type {Event} */ e) => setAttr(modeling, element, bo, "flowgate:formKey", inputValue(e).trim()) }),
          h(Help, { id: `${prefix}-key-help`, text: "A shared form by key, instead of a form of its own below." }))
      : null,
    loadFormEditor
      ? h("button", { type: "button", class: "fg-pp-add", disabled: busy, "aria-busy": busy ? "true" : undefined, onClick: openBuilder }, "Open form builder")
      : null,
    h("div", { class: "fg-pp-field" },
      h("label", { for: `${prefix}-schema` }, "Form schema (form-js JSON)"),
      h("textarea", { id: `${prefix}-schema`, name: "formSchema", rows: 4, class: "fg-pp-code", value: stored, spellcheck: false,
        "aria-invalid": error ? "true" : undefined, "aria-describedby": `${prefix}-schema-error`, onChange: (/** @type {Event} */ e) => onSchema(inputValue(e)) }),
      h("p", { id: `${prefix}-schema-error`, class: "fg-pp-error", role: error ? "alert" : undefined }, error),
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// Message correlation key (added to the stock "Message" group, which names the message)

/** @param {{ element: FgElement }} props */
export function CorrelationEntry({ element }) {
  const modeling = useService("modeling");
  const bo = element.businessObject;
  const id = `fg-message-${bo.id}-key`;
  return h("div", { class: "fg-pp" },
    h("div", { class: "fg-pp-field" },
      h("label", { for: id }, "Correlation key"),
      h("input", { type: "text", id, name: "correlationKey", value: bo.get("flowgate:correlationKey") || "", spellcheck: false,
        "aria-describedby": `${id}-help`, onChange: (/** @type {Event} */ e) => setAttr(modeling, element, bo, "flowgate:correlationKey", inputValue(e).trim()) }),
      h(Help, { id: `${id}-help`, text: "An expression matched against the key of an arriving message, e.g. order_id. Empty: the first message of this name." }),
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// Call activity: target process and version

/** @param {{ element: FgElement }} props */
export function CalledProcessEntry({ element }) {
  const modeling = useService("modeling");
  const bo = element.businessObject;
  const processes = serverJson("designer-processes");
  const prefix = `fg-call-${bo.id}`;
  return h("div", { class: "fg-pp" },
    h("datalist", { id: `${prefix}-processes` }, ...processes.map((p) => h("option", { value: p.key, label: p.name || p.key }))),
    h("div", { class: "fg-pp-field" },
      h("label", { for: `${prefix}-process` }, "Called process"),
      h("input", { type: "text", id: `${prefix}-process`, name: "calledElement", list: `${prefix}-processes`, value: bo.get("calledElement") || "",
        "aria-describedby": `${prefix}-process-help`, onChange: (/** @type {Event} */ e) => setAttr(modeling, element, bo, "calledElement", inputValue(e).trim()) }),
      h(Help, { id: `${prefix}-process-help`, text: "The key (process id) of a deployed process." }),
    ),
    h("div", { class: "fg-pp-field" },
      h("label", { for: `${prefix}-version` }, "Called version"),
      h("input", { type: "number", min: 1, id: `${prefix}-version`, name: "calledVersion", value: bo.get("flowgate:calledVersion") || "",
        "aria-describedby": `${prefix}-version-help`, onChange: (/** @type {Event} */ e) => setAttr(modeling, element, bo, "flowgate:calledVersion", inputValue(e).trim()) }),
      h(Help, { id: `${prefix}-version-help`, text: "Empty: the latest version deployed when an instance starts. A number pins that version." }),
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// Business rule task: the deployed decision it runs, its version, result variable, policy gate

/** @param {{ element: FgElement }} props */
export function DecisionEntry({ element }) {
  const modeling = useService("modeling");
  const bo = element.businessObject;
  const decisions = serverJson("designer-decisions");
  const key = bo.get("flowgate:decisionRef") || "";
  const known = decisions.find((d) => d.key === key);
  const prefix = `fg-decision-${bo.id}`;
  /** @param {string} attr @param {string} label @param {string} help @param {Record<string, unknown>} [props] */
  const field = (attr, label, help, props = {}) => h("div", { class: "fg-pp-field" },
    h("label", { for: `${prefix}-${attr}` }, label),
    h("input", { type: "text", id: `${prefix}-${attr}`, name: attr, value: bo.get(`flowgate:${attr}`) || "",
      "aria-describedby": `${prefix}-${attr}-help`, ...props,
      onChange: (/** @type {Event} */ e) => setAttr(modeling, element, bo, `flowgate:${attr}`, inputValue(e).trim()) }),
    h(Help, { id: `${prefix}-${attr}-help`, text: help }),
  );
  const gate = (bo.get("flowgate:policyGate") || "") === "true";
  return h("div", { class: "fg-pp fg-pp-decision" },
    h("datalist", { id: `${prefix}-decisions` }, ...decisions.map((d) => h("option", { value: d.key, label: `${d.name || d.key} (v${d.latest_number})` }))),
    field("decisionRef", "Decision", known
      ? `${known.name || known.key}: ${known.kind === "table" ? `${known.hit_policy} table` : "literal expression"}, latest version ${known.latest_number}.`
      : "The id of a deployed DMN decision (make one in Decisions → New decision, or upload a .dmn file on the process list).", { list: `${prefix}-decisions` }),
    known ? h("p", { class: "fg-pp-help" },
      h("a", { href: `/designer/decisions/${encodeURIComponent(key)}/`, target: "_blank", rel: "noopener" }, "Open the decision table"),
      " · ",
      h("a", { href: `/designer/decisions/${encodeURIComponent(key)}/edit/`, target: "_blank", rel: "noopener" }, "Edit it")) : null,
    field("decisionVersion", "Decision version", "Empty: the latest version deployed when the task runs. A number pins that version.", { type: "number", min: 1 }),
    field("resultVariable", "Result variable", "Where the result goes; empty means the decision id."),
    h("label", { class: "fg-pp-check" },
      h("input", { type: "checkbox", name: "policyGate", checked: gate, "aria-describedby": `${prefix}-gate-help`,
        onChange: (/** @type {Event} */ e) => setAttr(modeling, element, bo, "flowgate:policyGate", inputChecked(e) ? "true" : "") }),
      " Policy gate"),
    h(Help, { id: `${prefix}-gate-help`, text: "The decision gives allow and reason; a deny throws the error policy_denied (catch it with an error boundary event)." }),
  );
}

// ---------------------------------------------------------------------------------------------
// Multi-instance: one run per item of a collection (added to the stock "Multi-instance" group)

/** @param {{ element: FgElement }} props */
export function CollectionEntry({ element }) {
  const modeling = useService("modeling");
  const loop = element.businessObject.loopCharacteristics;
  if (!isA(loop, "bpmn:MultiInstanceLoopCharacteristics")) return null;
  const prefix = `fg-mi-${element.businessObject.id}`;
  return h("div", { class: "fg-pp" },
    h("div", { class: "fg-pp-field" },
      h("label", { for: `${prefix}-collection` }, "Collection variable"),
      h("input", { type: "text", id: `${prefix}-collection`, name: "collection", value: loop.get("flowgate:collection") || "",
        "aria-describedby": `${prefix}-collection-help`, onChange: (/** @type {Event} */ e) => setAttr(modeling, element, loop, "flowgate:collection", inputValue(e).trim()) }),
      h(Help, { id: `${prefix}-collection-help`, text: "Run once per item of this list (instead of a fixed count)." }),
    ),
    h("div", { class: "fg-pp-field" },
      h("label", { for: `${prefix}-item` }, "Item variable"),
      h("input", { type: "text", id: `${prefix}-item`, name: "elementVariable", value: loop.get("flowgate:elementVariable") || "",
        onChange: (/** @type {Event} */ e) => setAttr(modeling, element, loop, "flowgate:elementVariable", inputValue(e).trim()) }),
    ),
  );
}
