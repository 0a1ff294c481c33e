// A small side panel for Flowgate's extension attributes (namespace flowgate:, see
// flowgate-moddle.json). Every edit goes through bpmn-js `modeling`, so it can be undone.
// The server validates everything again at deploy; this panel only helps to write it.

const FIELD_SETS = {
  service: [
    { name: "connector", label: "Connector", list: "fg-connector-names", rerender: true, help: "Registered connector or function name, e.g. http or email." },
    { name: "maxAttempts", label: "Max attempts", type: "number", min: 1, help: "Tries before an incident is raised (default 3)." },
  ],
  user: [
    { name: "formKey", label: "Form key", help: "A shared form by key, instead of an inline form below." },
  ],
  message: [
    { name: "correlationKey", label: "Correlation key", help: "Expression matched against the message's key, e.g. order_id." },
  ],
  call: [
    { name: "calledElement", attr: "calledElement", label: "Called process", help: "Key (process id) of a deployed process." },
    { name: "calledVersion", label: "Called version", type: "number", min: 1, help: "Empty: the latest version deployed when an instance starts. A number pins that version." },
  ],
  multi: [
    { name: "collection", label: "Collection variable", help: "Run once per item of this list." },
    { name: "elementVariable", label: "Item variable" },
  ],
};

const is = (bo, type) => Boolean(bo && bo.$instanceOf && bo.$instanceOf(type));

let uid = 0;
const nextId = (name) => `fg-field-${name}-${++uid}`;

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  Object.entries(attrs).forEach(([key, value]) => {
    if (value === undefined || value === null || value === false) return;
    if (key === "className") node.className = value;
    else node.setAttribute(key, value === true ? "" : value);
  });
  if (text !== undefined) node.textContent = text;
  return node;
}

// The registered connectors (the page embeds them as JSON, with their inputs), offered in the
// connector field; their parameter schema drives the input suggestions.
const CONNECTORS = (() => {
  const source = typeof document !== "undefined" && document.getElementById("designer-connectors");
  try {
    return source ? JSON.parse(source.textContent) : [];
  } catch {
    return [];
  }
})();

function connectorDatalist() {
  const list = el("datalist", { id: "fg-connector-names" });
  CONNECTORS.forEach((c) => {
    const hint = c.chainable ? "chainable: runs with the steps around it" : "runs with a lease";
    list.append(el("option", { value: c.name, label: `${c.label} (${hint})` }));
  });
  return list;
}

export function createFlowgatePanel(container, modeler, { loadFormEditor } = {}) {
  const modeling = modeler.get("modeling");
  const moddle = modeler.get("moddle");
  const eventBus = modeler.get("eventBus");
  let current = null;
  let applying = false;

  // Our own edits do not re-render the panel (that would replace the input being typed in);
  // undo/redo and edits made elsewhere do.
  const update = (target, props) => {
    applying = true;
    try {
      modeling.updateModdleProperties(current, target, props);
    } finally {
      applying = false;
    }
  };

  const field = (parent, target, spec) => {
    const id = nextId(spec.name);
    const attr = spec.attr || `flowgate:${spec.name}`;
    const wrap = el("div", { className: spec.type === "checkbox" ? "form-check mb-2" : "mb-2" });
    const value = target.get(attr);
    if (spec.type === "checkbox") {
      const input = el("input", { type: "checkbox", className: "form-check-input", id, name: spec.name });
      input.checked = Boolean(value);
      input.addEventListener("change", () =>
        update(target, { [attr]: input.checked ? true : undefined }),
      );
      wrap.append(input, el("label", { className: "form-check-label", for: id }, spec.label));
    } else {
      const helpId = spec.help ? `${id}-help` : undefined;
      const input = el("input", {
        type: spec.type || "text",
        className: "form-control form-control-sm",
        id,
        name: spec.name,
        min: spec.min,
        list: spec.list,
        "aria-describedby": helpId,
      });
      input.value = value === undefined || value === null ? "" : String(value);
      input.addEventListener("change", () => {
        const raw = input.value.trim();
        update(target, { [attr]: raw === "" ? undefined : raw });
        if (spec.rerender) render(); // e.g. the connector's inputs follow the connector
      });
      wrap.append(el("label", { className: "form-label small mb-1", for: id }, spec.label), input);
      if (helpId) wrap.append(el("div", { className: "form-text mt-0", id: helpId }, spec.help));
    }
    parent.append(wrap);
  };

  const group = (title) => {
    const fieldset = el("fieldset", { className: "mb-3" });
    fieldset.append(el("legend", { className: "h6 mb-2" }, title));
    container.append(fieldset);
    return fieldset;
  };

  const ensureExtensionElements = (bo) => {
    if (bo.extensionElements) return bo.extensionElements;
    const ext = moddle.create("bpmn:ExtensionElements", { values: [] });
    ext.$parent = bo;
    update(bo, { extensionElements: ext });
    return ext;
  };

  const mappings = (bo, type, title) => {
    const fieldset = group(title);
    const ext = bo.extensionElements;
    const rows = ext ? (ext.get("values") || []).filter((v) => is(v, type)) : [];
    const word = type === "flowgate:Input" ? "input" : "output";
    // The connector's own parameter schema: suggested input names, required ones named.
    const connector = CONNECTORS.find((c) => c.name === bo.get("flowgate:connector"));
    const params = type === "flowgate:Input" && connector ? connector.inputs || [] : [];
    if (params.length) {
      const listId = nextId("params");
      const list = el("datalist", { id: listId });
      params.forEach((p) => list.append(el("option", { value: p.name, label: p.description || p.name })));
      fieldset.append(list);
      fieldset.dataset.paramsList = listId;
      const have = new Set(rows.map((r) => r.get("name")));
      const missing = params.filter((p) => p.required && !have.has(p.name)).map((p) => p.name);
      const names = params.map((p) => (p.required ? `${p.name} (required)` : p.name)).join(", ");
      fieldset.append(el("p", { className: "form-text mt-0 mb-1 fg-connector-params" },
        `${connector.label} takes: ${names}.${missing.length ? ` Still missing: ${missing.join(", ")}.` : ""}`));
    }
    rows.forEach((mapping, index) => {
      const row = el("div", { className: "input-group input-group-sm mb-1" });
      ["name", "expression"].forEach((prop) => {
        const input = el("input", {
          type: "text",
          className: "form-control",
          "aria-label": `${title} ${index + 1} ${prop}`,
          placeholder: prop === "name" ? "variable" : "expression",
          list: prop === "name" ? fieldset.dataset.paramsList : undefined,
        });
        input.value = mapping.get(prop) || "";
        input.addEventListener("change", () => update(mapping, { [prop]: input.value.trim() || undefined }));
        row.append(input);
      });
      const remove = el("button", { type: "button", className: "btn btn-outline-danger", "aria-label": `Remove ${word} ${index + 1}` }, "×");
      remove.addEventListener("click", () => {
        const values = ext.get("values").filter((v) => v !== mapping);
        update(ext, { values });
        render();
      });
      row.append(remove);
      fieldset.append(row);
    });
    const add = el("button", { type: "button", className: "btn btn-outline-secondary btn-sm" }, `Add ${word}`);
    add.addEventListener("click", () => {
      const target = ensureExtensionElements(bo);
      const mapping = moddle.create(type, { name: "", expression: "" });
      mapping.$parent = target;
      update(target, { values: [...(target.get("values") || []), mapping] });
      render();
    });
    fieldset.append(add);
  };

  const formSection = (bo, fieldset) => {
    const ext = bo.extensionElements;
    const form = ext ? (ext.get("values") || []).find((v) => is(v, "flowgate:Form")) : undefined;
    const schemaId = nextId("form-schema");
    const errorId = `${schemaId}-error`;
    const schema = el("textarea", {
      id: schemaId,
      rows: 4,
      className: "form-control form-control-sm font-monospace",
      "aria-describedby": errorId,
    });
    schema.value = (form && form.get("schema")) || "";
    const error = el("div", { id: errorId, className: "invalid-feedback", role: "alert" });
    const saveSchema = (text) => {
      const target = ensureExtensionElements(bo);
      const existing = (target.get("values") || []).find((v) => is(v, "flowgate:Form"));
      if (!text) {
        if (existing) update(target, { values: target.get("values").filter((v) => v !== existing) });
      } else if (existing) {
        update(existing, { schema: text });
      } else {
        const created = moddle.create("flowgate:Form", { schema: text });
        created.$parent = target;
        update(target, { values: [...(target.get("values") || []), created] });
      }
    };
    schema.addEventListener("change", () => {
      const text = schema.value.trim();
      schema.classList.remove("is-invalid");
      error.textContent = "";
      if (text) {
        try {
          JSON.parse(text);
        } catch (exc) {
          schema.classList.add("is-invalid");
          error.textContent = `The form schema is not valid JSON: ${exc.message}`;
        }
      }
      saveSchema(text);
    });
    if (loadFormEditor) {
      const open = el("button", { type: "button", className: "btn btn-outline-primary btn-sm mb-2" }, "Open form builder");
      open.addEventListener("click", async () => {
        let initial = null;
        try {
          initial = schema.value.trim() ? JSON.parse(schema.value) : null;
        } catch {
          schema.classList.add("is-invalid");
          error.textContent = "Fix the JSON below (or clear it) before opening the form builder.";
          return;
        }
        open.disabled = true;
        try {
          const builder = await loadFormEditor();
          const saved = await builder.open({ schema: initial, title: `Form for ${bo.name || bo.id}` });
          if (saved) {
            saveSchema(JSON.stringify(saved, null, 2));
            render();
          }
        } catch (exc) {
          error.textContent = exc.message;
          schema.classList.add("is-invalid");
        } finally {
          open.disabled = false;
        }
      });
      fieldset.append(open);
    }
    fieldset.append(
      el("label", { className: "form-label small mb-1", for: schemaId }, "Form schema (form-js JSON)"),
      schema,
      error,
    );
  };

  const datalist = connectorDatalist();

  function render() {
    container.replaceChildren(datalist);
    container.append(el("h2", { className: "h6 text-uppercase text-body-secondary mb-3" }, "Flowgate settings"));
    if (!current) {
      container.append(el("p", { className: "small text-body-secondary" }, "Select a task, gateway flow or event to edit how Flowgate runs it."));
      return;
    }
    const bo = current.businessObject;
    container.append(el("p", { className: "small mb-2" }, `${bo.name || bo.id} (${bo.$type.replace("bpmn:", "")})`));
    let shown = false;
    if (is(bo, "bpmn:ServiceTask") || is(bo, "bpmn:SendTask") || is(bo, "bpmn:BusinessRuleTask")) {
      const fs = group("Automated step");
      FIELD_SETS.service.forEach((spec) => field(fs, bo, spec));
      mappings(bo, "flowgate:Input", "Inputs");
      mappings(bo, "flowgate:Output", "Outputs");
      shown = true;
    }
    if (is(bo, "bpmn:UserTask")) {
      container.append(el("p", { className: "small text-body-secondary" }, "People, deadlines and approval are set in the groups above."));
      const fs = group("Form");
      FIELD_SETS.user.forEach((spec) => field(fs, bo, spec));
      formSection(bo, fs);
      shown = true;
    }
    if (is(bo, "bpmn:CallActivity")) {
      const fs = group("Called process");
      FIELD_SETS.call.forEach((spec) => field(fs, bo, spec));
      shown = true;
    }
    const waitsForMessage =
      is(bo, "bpmn:ReceiveTask") ||
      (is(bo, "bpmn:CatchEvent") &&
        (bo.eventDefinitions || []).some((d) => is(d, "bpmn:MessageEventDefinition")));
    if (waitsForMessage) {
      const fs = group("Message");
      FIELD_SETS.message.forEach((spec) => field(fs, bo, spec));
      shown = true;
    }
    if (is(bo.loopCharacteristics, "bpmn:MultiInstanceLoopCharacteristics")) {
      const fs = group("Multi-instance");
      FIELD_SETS.multi.forEach((spec) => field(fs, bo.loopCharacteristics, spec));
      shown = true;
    }
    if (is(bo, "bpmn:SequenceFlow")) {
      container.append(el("p", { className: "small text-body-secondary" }, "Conditions of a gateway's flows are set in the Condition group above."));
      shown = true;
    }
    if (!shown) {
      container.append(el("p", { className: "small text-body-secondary" }, "This element has no Flowgate settings."));
    }
  }

  eventBus.on("selection.changed", ({ newSelection }) => {
    current = newSelection.length === 1 ? newSelection[0] : null;
    render();
  });
  eventBus.on("commandStack.changed", () => {
    if (!applying) render();
  });
  eventBus.on("import.done", () => {
    current = null;
    render();
  });
  render();
  return { render };
}
