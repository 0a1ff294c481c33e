// The accessible problem list under the designer. Each problem with an element id is a button
// that selects (and scrolls to) that element in the canvas.

const MARKER = "fg-problem";

export function createProblemList(container, modeler) {
  const elementRegistry = modeler.get("elementRegistry");
  const selection = modeler.get("selection");
  const canvas = modeler.get("canvas");
  let marked = [];

  const clearMarkers = () => {
    marked.forEach((id) => {
      if (elementRegistry.get(id)) canvas.removeMarker(id, MARKER);
    });
    marked = [];
  };

  const focusElement = (id) => {
    const element = elementRegistry.get(id);
    if (!element) return false;
    selection.select(element);
    if (canvas.scrollToElement && element.waypoints === undefined) {
      canvas.scrollToElement(element);
    }
    return true;
  };

  /** kind: "success" | "danger" | "info"; problems: [{element_id, code, message}] */
  const show = ({ kind, title, problems = [] }) => {
    clearMarkers();
    container.replaceChildren();
    const heading = document.createElement("p");
    heading.className = `mb-2 fw-semibold text-${kind === "danger" ? "danger-emphasis" : kind === "success" ? "success-emphasis" : "body-secondary"}`;
    heading.textContent = title;
    container.append(heading);
    if (!problems.length) return;
    const list = document.createElement("ul");
    list.className = "list-group list-group-flush fg-problem-list";
    problems.forEach((problem) => {
      const item = document.createElement("li");
      item.className = "list-group-item p-0";
      const id = problem.element_id || "";
      const text = `${problem.message || problem.code || "Problem"}`;
      const meta = [id, problem.code].filter(Boolean).join(" · ");
      if (id && elementRegistry.get(id)) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "list-group-item-action btn btn-link text-start w-100 px-3 py-2 text-decoration-none";
        button.dataset.elementId = id;
        button.innerHTML = '<span class="d-block"></span><small class="text-body-secondary"></small>';
        button.firstChild.textContent = text;
        button.lastChild.textContent = meta;
        button.setAttribute("aria-label", `${text} (${meta}). Select element in the diagram`);
        button.addEventListener("click", () => focusElement(id));
        item.append(button);
        canvas.addMarker(id, MARKER);
        marked.push(id);
      } else {
        item.classList.add("px-3", "py-2");
        item.innerHTML = '<span class="d-block"></span><small class="text-body-secondary"></small>';
        item.firstChild.textContent = text;
        item.lastChild.textContent = meta;
      }
      list.append(item);
    });
    container.append(list);
  };

  return { show, clear: () => { clearMarkers(); container.replaceChildren(); }, focusElement };
}
