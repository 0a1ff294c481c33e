// @ts-check
// The accessible problem list under the designer. Every problem the server reports is listed;
// a problem on an element marks that element on the canvas (a bpmn-js marker and an overlay
// badge with the count) and is a button that selects the element and focuses the field that
// fixes it. Problems without an element (or on the process) select the process.

const MARKER = "fg-problem";
const OVERLAY = "fg-problem-badge";

/** A problem as the server reports it (deploy, validate, import).
 * @typedef {{ code?: string, message?: string, element_id?: string | null, related_id?: string | null,
 *   element_type?: string, element_name?: string }} Problem */

// Which field fixes a problem: a control of the properties panel's Flowgate groups.
/** @type {Record<string, string>} */
const FIX_FIELDS = {
  user_task_unassigned: '#designer-properties .fg-pp-roles input',
  unknown_role: '#designer-properties .fg-pp-roles input',
  service_task_without_connector: '#designer-properties [name="connector"]',
  unknown_connector: '#designer-properties [name="connector"]',
  bad_max_attempts: '#designer-properties [name="maxAttempts"]',
  bad_due_date: '#designer-properties [id$="-due-raw"]',
  bad_priority: '#designer-properties [id$="-priority"]',
  bad_outcome_variable: '#designer-properties [id$="-outcome"]',
  call_without_process: '#designer-properties [name="calledElement"]',
  invalid_called_version: '#designer-properties [name="calledVersion"]',
};
const FLOW_IN_MESSAGE = /outgoing flow '([^']+)'/;

/** The id of the element a problem is about (the flow named in a gateway problem), else null.
 * @param {Problem} problem
 * @param {(id: string) => boolean} inDiagram whether the diagram has an element of that id
 * @returns {string | null} */
export function problemTarget(problem, inDiagram) {
  if (problem.related_id && inDiagram(problem.related_id)) return problem.related_id;
  const named = problem.code === "gateway_flow_without_condition" && FLOW_IN_MESSAGE.exec(problem.message || "");
  if (named && inDiagram(named[1])) return named[1];
  return problem.element_id && inDiagram(problem.element_id) ? problem.element_id : null;
}

/** The CSS selector of the properties panel's field that fixes a problem, else null.
 * @param {Problem} problem
 * @returns {string | null} */
export function fixFieldSelector(problem) {
  if (problem.code === "gateway_flow_without_condition") return ".fg-condition-builder .fg-cb-add";
  return FIX_FIELDS[problem.code || ""] || null;
}

/** The problem list under the designer's canvas.
 * @param {HTMLElement} container
 * @param {any} modeler a bpmn-js Modeler */
export function createProblemList(container, modeler) {
  const elementRegistry = modeler.get("elementRegistry");
  const selection = modeler.get("selection");
  const canvas = modeler.get("canvas");
  const overlays = modeler.get("overlays");
  /** @type {string[]} */
  let marked = [];

  const clearMarkers = () => {
    marked.forEach((id) => {
      if (elementRegistry.get(id)) canvas.removeMarker(id, MARKER);
    });
    overlays.remove({ type: OVERLAY });
    marked = [];
  };

  /** @param {Problem} problem */
  const targetOf = (problem) => problemTarget(problem, (id) => Boolean(elementRegistry.get(id)));

  /** @param {Problem} problem */
  const focusField = (problem) => {
    const selector = fixFieldSelector(problem);
    if (!selector) return;
    // The panels re-render on selection; focus once they have.
    window.setTimeout(() => {
      const field = /** @type {HTMLElement | null} */ (document.querySelector(selector));
      if (field) {
        field.scrollIntoView({ block: "nearest" });
        field.focus();
      }
    }, 50);
  };

  /** Select an element (the process when ``id`` is empty) and focus the field that fixes ``problem``.
   * @param {string | null} id
   * @param {Problem} [problem]
   * @returns {boolean} */
  const focusElement = (id, problem) => {
    const element = id ? elementRegistry.get(id) : canvas.getRootElement();
    if (!element) return false;
    selection.select(element);
    if (canvas.scrollToElement && element.waypoints === undefined && element !== canvas.getRootElement()) {
      canvas.scrollToElement(element);
    }
    if (problem) focusField(problem);
    return true;
  };

  /** @type {(id: string, count: number, text: string) => void} */
  const badge = (id, count, text) => {
    const html = document.createElement("span");
    html.className = "fg-problem-count";
    html.textContent = String(count);
    html.title = text;
    html.setAttribute("aria-hidden", "true");
    overlays.add(id, OVERLAY, { position: { top: -10, right: 10 }, html });
  };

  /** @type {(problem: Problem, index: number | string) => HTMLLIElement} */
  const item = (problem, index) => {
    const li = document.createElement("li");
    li.className = "list-group-item p-0";
    const target = targetOf(problem);
    const text = `${problem.message || problem.code || "Problem"}`;
    // The element by its name; the id second, for people who know the file.
    const id = problem.element_id;
    const title = [problem.element_type, problem.element_name && `“${problem.element_name}”`].filter(Boolean).join(" ");
    let meta;
    if (!id) meta = "The whole process";
    else if (!elementRegistry.get(id) && !target) meta = `${title || id} (not in the diagram)`;
    else meta = title ? `${title} · id ${id}` : `id ${id}`;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "list-group-item-action btn btn-link text-start w-100 px-3 py-2 text-decoration-none";
    button.dataset.elementId = target || "";
    button.dataset.problem = String(index);
    button.dataset.code = problem.code || "";
    button.innerHTML = '<span class="d-block"></span><small class="text-body-secondary"></small>';
    /** @type {Node} */ (button.firstChild).textContent = text;
    /** @type {Node} */ (button.lastChild).textContent = meta;
    button.setAttribute("aria-label", `${text} (${meta}). Select ${target ? "the element" : "the process"} in the diagram`);
    button.addEventListener("click", () => focusElement(target, problem));
    li.append(button);
    return li;
  };

  /** kind: "success" | "danger" | "info"; problems: [{element_id, code, message}];
   * warnings: the same shape, listed apart under warningsTitle (not counted as problems).
   * @param {{ kind: string, title: string, problems?: Problem[], notes?: string[],
   *   warnings?: Problem[], warningsTitle?: string }} report */
  const show = ({ kind, title, problems = [], notes = [], warnings = [], warningsTitle = "" }) => {
    clearMarkers();
    container.replaceChildren();
    const heading = document.createElement("p");
    heading.className = `mb-2 fw-semibold text-${kind === "danger" ? "danger-emphasis" : kind === "success" ? "success-emphasis" : "body-secondary"}`;
    heading.textContent = title;
    container.append(heading);
    if (notes.length) {
      const details = document.createElement("details");
      details.className = "mb-2 small fg-import-notes";
      const summary = document.createElement("summary");
      summary.textContent = `What was mapped (${notes.length})`;
      const list = document.createElement("ul");
      notes.forEach((note) => {
        const li = document.createElement("li");
        li.textContent = note;
        list.append(li);
      });
      details.append(summary, list);
      container.append(details);
    }
    if (warnings.length) {
      const head = document.createElement("p");
      head.className = "mb-1 small fw-semibold text-warning-emphasis";
      head.textContent = warningsTitle;
      const list = document.createElement("ul");
      list.className = "list-group list-group-flush mb-2 fg-import-warnings";
      warnings.forEach((warning, index) => list.append(item(warning, `w${index}`)));
      container.append(head, list);
    }
    if (!problems.length) return;
    const list = document.createElement("ul");
    list.className = "list-group list-group-flush fg-problem-list";
    /** @type {Map<string, (string | undefined)[]>} */
    const perElement = new Map();
    problems.forEach((problem, index) => {
      list.append(item(problem, index));
      const target = targetOf(problem);
      if (target && target !== canvas.getRootElement().id) {
        perElement.set(target, [...(perElement.get(target) || []), problem.message || problem.code]);
      }
    });
    perElement.forEach((messages, id) => {
      canvas.addMarker(id, MARKER);
      marked.push(id);
      badge(id, messages.length, messages.join("\n"));
    });
    container.append(list);
  };

  return { show, clear: () => { clearMarkers(); container.replaceChildren(); }, focusElement };
}
