// @ts-check
// The designer's test panel: start a test instance of a deployed version (the latest unless
// another is chosen; sample variables, service tasks stubbed or run for real one by one), complete its human tasks, and show on the canvas the path
// it took (markers on completed elements and taken flows, an overlay where it waits) with each
// step's variables. DOM contract: #designer-testrun with data-start-url, data-run-url and
// data-complete-url (ID and TASK are replaced), a .fg-testrun-form, #testrun-result.
import { errorMessage, postJson } from "./api.js";
import { el, formFields, variablesView } from "./testrun-fields.js";

const DONE = "fg-run-done";
const TAKEN = "fg-run-taken";
const WAITING = "fg-run-waiting";
const ERROR = "fg-run-error";
const OVERLAY = "fg-run-overlay";

/** One step of a test run, as the test-run API answers it.
 * @typedef {{
 *   activity_id: string, name: string, status: string, type: string, approval?: boolean,
 *   variables?: Record<string, unknown>,
 *   form?: { components?: import("./testrun-fields.js").FormComponent[] } | null,
 * }} Step */
/** A test run: where it went, where it waits, and its steps.
 * @typedef {{
 *   instance_id: number, version: number, status: string, completed: string[], flows: string[],
 *   errors: string[], waiting: string[], steps: Step[],
 * }} Trace */
/** The panel's form and the controls it reads (the template's names).
 * @typedef {HTMLFormElement & { elements: HTMLFormControlsCollection & {
 *   variables: HTMLTextAreaElement, stub: HTMLInputElement, stubs: HTMLTextAreaElement,
 *   version?: HTMLInputElement | HTMLSelectElement,
 * } }} TestRunForm */
/** bpmn-js's modeler: only its services (canvas, elementRegistry, overlays) are read.
 * @typedef {{ get: (service: string) => any }} Modeler */

/** @param {string} text @param {string} what @returns {Record<string, unknown>} */
function parseJson(text, what) {
  try {
    const value = JSON.parse(text || "{}");
    if (value && typeof value === "object" && !Array.isArray(value)) return value;
  } catch (exc) {
    throw new Error(`${what} is not valid JSON: ${/** @type {Error} */ (exc).message}`);
  }
  throw new Error(`${what} must be a JSON object.`);
}

/** @param {HTMLElement} section @param {Modeler} modeler */
export function mountTestRun(section, modeler) {
  const form = /** @type {TestRunForm | null} */ (section.querySelector(".fg-testrun-form"));
  const result = section.querySelector("#testrun-result");
  if (!form || !result) return null;
  // The start form's fields for the sample variables; the JSON stays one click away.
  const startSchemaEl = document.getElementById("testrun-start-form");
  const startSchema = startSchemaEl ? JSON.parse(/** @type {string} */ (startSchemaEl.textContent)) : null;
  const varsArea = form.elements.variables;
  const spot = document.createComment("start fields");
  /** @type {HTMLElement} */ (varsArea.parentElement).before(spot);
  const startFields = formFields(startSchema, {
    values: (() => { try { return JSON.parse(varsArea.value || "{}"); } catch { return {}; } })(),
    jsonLabel: "Sample variables (JSON object)",
    textarea: varsArea,
    parse: (text) => parseJson(text, "Sample variables"),
  });
  spot.replaceWith(startFields.element);
  const canvas = modeler.get("canvas");
  const registry = modeler.get("elementRegistry");
  const overlays = modeler.get("overlays");
  /** @type {[string, string][]} */
  let marked = [];
  /** @type {Trace | null} */
  let current = null;

  const clear = () => {
    marked.forEach(([id, marker]) => registry.get(id) && canvas.removeMarker(id, marker));
    overlays.remove({ type: OVERLAY });
    marked = [];
  };

  /** @param {string} id @param {string} marker */
  const mark = (id, marker) => {
    if (!registry.get(id)) return;
    canvas.addMarker(id, marker);
    marked.push([id, marker]);
  };

  const stubs = () => (form.elements.stub.checked ? parseJson(form.elements.stubs.value, "Stub results") : null);
  // With stubs on: the service tasks checked to run for real anyway.
  const real = () =>
    [.../** @type {NodeListOf<HTMLInputElement>} */ (form.querySelectorAll("input[name=real]:checked"))].map((box) => box.value);
  const version = () => (form.elements.version && form.elements.version.value ? Number(form.elements.version.value) : null);

  /** @param {Trace} trace */
  const paint = (trace) => {
    clear();
    trace.completed.forEach((id) => mark(id, DONE));
    trace.flows.forEach((id) => mark(id, TAKEN));
    trace.errors.forEach((id) => mark(id, ERROR));
    trace.waiting.forEach((id) => {
      mark(id, WAITING);
      if (registry.get(id)) {
        overlays.add(id, OVERLAY, {
          position: { bottom: -6, left: -6 },
          html: el("span", { className: "fg-run-badge" }, "waits here"),
        });
      }
    });
  };

  /** @param {Trace} trace */
  const show = (trace) => {
    current = trace;
    paint(trace);
    result.replaceChildren();
    const status = trace.status === "completed" ? "completed" : trace.waiting.length ? "waiting" : trace.status;
    // Steps by the names the model gives them (the id only where a step has no name).
    const nameOf = (/** @type {string} */ id) => trace.steps.find((s) => s.activity_id === id)?.name || id;
    const where = trace.waiting.map(nameOf).join(", ");
    result.append(el("p", { className: "fw-semibold mb-2 fg-testrun-status", "data-status": status },
      `Test run #${trace.instance_id} (v${trace.version}): ${status === "waiting" ? `waits at ${where}` : status}.`));
    const list = el("ol", { className: "list-group list-group-numbered fg-testrun-steps" });
    trace.steps.forEach((step) => {
      const item = el("li", { className: "list-group-item", "data-step": step.activity_id, "data-status": step.status });
      const head = el("div", { className: "d-flex justify-content-between gap-2" });
      head.append(el("span", {}, `${step.name} `), el("span", {
        className: `badge ${step.status === "completed" ? "text-bg-success" : step.status === "waiting" ? "text-bg-primary" : "text-bg-danger"}`,
      }, step.status));
      item.append(head);
      const details = el("details", { className: "small fg-testrun-step-vars" });
      details.append(el("summary", {}, `Variables (${Object.keys(step.variables || {}).length})`), variablesView(step.variables));
      item.append(details);
      if (step.status === "waiting" && ["userTask", "manualTask", "task"].includes(step.type)) {
        item.append(taskForm(step));
      }
      list.append(item);
    });
    result.append(list);
    if (trace.status === "running" && !trace.waiting.length) {
      const refresh = el("button", { type: "button", className: "btn btn-sm btn-outline-secondary mt-2" }, "Refresh");
      refresh.addEventListener("click", () => reload());
      result.append(refresh);
    }
    section.dispatchEvent(new CustomEvent("designer:testrun", { detail: trace, bubbles: true }));
  };

  /** @param {string} message */
  const fail = (message) => {
    let alert = result.querySelector(".fg-testrun-error");
    if (!alert) {
      alert = el("p", { className: "text-danger-emphasis fg-testrun-error", role: "alert" });
      result.prepend(alert);
    }
    alert.textContent = message;
  };

  /** @param {string} url @param {unknown} [payload] */
  const call = async (url, payload) => {
    const response = payload === undefined
      ? await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(async (r) => ({ ok: r.ok, status: r.status, body: await r.json().catch(() => null) }))
      : await postJson(url, payload);
    if (!response.ok || !response.body) throw new Error(errorMessage(response));
    show(response.body);
  };

  const reload = () =>
    current &&
    call(/** @type {string} */ (section.dataset.runUrl).replace("ID", String(current.instance_id))).catch((e) => fail(e.message));

  /** @param {Step} step */
  function taskForm(step) {
    const box = el("div", { className: "mt-2 fg-testrun-task" });
    // The task's own form (as the inbox would show it, in plain inputs); JSON for the rest.
    box.append(el("p", { className: "small fw-semibold mb-1" }, `${step.name}: ${step.form ? "the task's form" : "data to complete it with"}`));
    const fields = formFields(step.form, {
      values: {},
      jsonLabel: `Data for ${step.name} (JSON)`,
      parse: (text) => parseJson(text, "Task data"),
      openWithoutFields: false,
    });
    box.append(fields.element);
    const buttons = el("div", { className: "d-flex gap-2 mt-1" });
    const complete = async (/** @type {boolean | null} */ approved) => {
      try {
        const url = /** @type {string} */ (section.dataset.completeUrl)
          .replace("ID", String(/** @type {Trace} */ (current).instance_id))
          .replace("TASK", encodeURIComponent(step.activity_id));
        await call(url, { data: fields.read(), approved, stubs: stubs() });
      } catch (exc) {
        fail(/** @type {Error} */ (exc).message);
      }
    };
    if (step.approval) {
      const approve = el("button", { type: "button", className: "btn btn-sm btn-success" }, `Approve ${step.name}`);
      const reject = el("button", { type: "button", className: "btn btn-sm btn-outline-danger" }, `Reject ${step.name}`);
      approve.addEventListener("click", () => complete(true));
      reject.addEventListener("click", () => complete(false));
      buttons.append(approve, reject);
    } else {
      const done = el("button", { type: "button", className: "btn btn-sm btn-primary" }, `Complete ${step.name}`);
      done.addEventListener("click", () => complete(null));
      buttons.append(done);
    }
    box.append(buttons);
    return box;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = /** @type {HTMLButtonElement} */ (form.querySelector("button[type=submit]"));
    button.disabled = true;
    try {
      await call(/** @type {string} */ (section.dataset.startUrl), {
        variables: startFields.read(), stubs: stubs(), real: real(), version: version(),
      });
    } catch (exc) {
      result.replaceChildren();
      fail(/** @type {Error} */ (exc).message);
    } finally {
      button.disabled = false;
    }
  });
  form.elements.stub.addEventListener("change", () => {
    form.elements.stubs.disabled = !form.elements.stub.checked;
    form.querySelectorAll("input[name=real]").forEach((box) => {
      /** @type {HTMLInputElement} */ (box).disabled = !form.elements.stub.checked;
    });
  });
  return { show, clear, reload };
}
