// Task pages: render a form-js schema and submit its data as JSON. DOM contract:
//   <script type="application/json" id="form-schema">{...form-js schema...}</script>
//   <script type="application/json" id="form-data">{...initial data...}</script>   (optional)
//   <div id="task-form" data-submit-url="/api/..."
//        data-submit-field="data"     (optional; the body is {"<field>": data}; "" sends data as is)
//        data-success-url="/inbox/"   (optional; where to go after a successful submit)
//        data-submit-label="Complete task"></div>   (optional button label)
// The server answers 2xx on success, or 4xx with {"message", "details"?} — details may be a list
// of {"field"|"element_id", "message"} or an object {field: [messages]}. Errors whose field
// names a form field's key are shown on that field (form-js error state, keyed by field id);
// the rest are listed under the form.
// Event on #task-form: form:submitted (detail: response body).
import { Form } from "@bpmn-io/form-js-viewer";
import { errorMessage, postJson } from "../designer/api.js";
import { showFieldErrors } from "./field-errors.js";

function readJson(id, fallback) {
  const node = document.getElementById(id);
  if (!node) return fallback;
  try {
    return JSON.parse(node.textContent);
  } catch {
    return fallback;
  }
}

export async function mountTaskForm(container) {
  const schema = readJson("form-schema", null);
  const data = readJson("form-data", {});
  const status = document.createElement("div");
  status.className = "fg-form-status mt-3";
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");
  const formHost = document.createElement("div");
  container.replaceChildren(formHost);

  const showStatus = (kind, title, lines = []) => {
    status.replaceChildren();
    if (!title) return;
    const box = document.createElement("div");
    box.className = `alert alert-${kind} mb-0`;
    const heading = document.createElement("p");
    heading.className = lines.length ? "mb-1" : "mb-0";
    heading.textContent = title;
    box.append(heading);
    if (lines.length) {
      const list = document.createElement("ul");
      list.className = "mb-0";
      lines.forEach((line) => {
        const item = document.createElement("li");
        item.textContent = line;
        list.append(item);
      });
      box.append(list);
    }
    status.append(box);
  };

  if (!schema) {
    showStatus("danger", "This task's form could not be read.");
    container.append(status);
    return null;
  }
  // No input debounce: a quick click on our submit button must see the last keystrokes.
  const form = new Form({ container: formHost, debounce: false });
  await form.importSchema(schema, data);

  const hasOwnSubmit = JSON.stringify(schema.components || []).includes('"action":"submit"');
  let button = null;
  if (!hasOwnSubmit) {
    button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn-primary mt-2";
    button.textContent = container.dataset.submitLabel || "Submit";
    button.addEventListener("click", () => form.submit());
    container.append(button);
  }
  container.append(status);

  form.on("submit", async ({ data: values, errors }) => {
    const invalid = Object.keys(errors || {});
    if (invalid.length) {
      showStatus("danger", `Please correct ${invalid.length} field(s) marked in the form.`);
      return;
    }
    const field = container.dataset.submitField ?? "data";
    const body = field ? { [field]: values } : values;
    if (button) button.disabled = true;
    try {
      const result = await postJson(container.dataset.submitUrl, body);
      if (result.ok) {
        showStatus("success", (result.body && result.body.message) || "Submitted.");
        container.dispatchEvent(new CustomEvent("form:submitted", { detail: result.body, bubbles: true }));
        const next = (result.body && result.body.redirect) || container.dataset.successUrl;
        if (next) window.location.assign(next);
      } else {
        const b = result.body || {};
        const { marked, rest } = showFieldErrors(form, b.details || b.errors);
        const title = marked
          ? `${errorMessage(result)} Please correct ${marked} field(s) marked in the form.`
          : errorMessage(result);
        showStatus("danger", title, rest);
      }
    } catch (exc) {
      showStatus("danger", `Could not reach the server: ${exc.message}`);
    } finally {
      if (button) button.disabled = false;
    }
  });
  window.FlowgateTaskForm = form;
  return form;
}

const start = () => {
  const container = document.getElementById("task-form");
  if (container) mountTaskForm(container);
};
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
