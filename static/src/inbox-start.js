// The catalog's start form: a form-js form whose data starts a request. DOM contract:
//   <script type="application/json" id="form-schema">{...}</script>  (optional: no form = no fields)
//   <div id="task-form" data-submit-url="/api/v1/requests/" data-process-key="expense_approval"
//        data-submit-label="Submit request"></div>
// Double submission: the page's Idempotency-Key is fixed for its life and the button stays
// disabled once the server accepted the request, so a double click starts one instance.
import { Form } from "@bpmn-io/form-js-viewer";
import { csrfToken, errorMessage } from "./designer/api.js";
import { showFieldErrors } from "./forms/field-errors.js";
import { withSubmitButton } from "./forms/submit-button.js";

function readJson(id) {
  const node = document.getElementById(id);
  if (!node) return null;
  try {
    return JSON.parse(node.textContent);
  } catch {
    return null;
  }
}

function newKey() {
  if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
  return `start-${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

export async function mountStartForm(container) {
  const schema = readJson("form-schema") || { type: "default", components: [] };
  const key = newKey();
  const host = document.createElement("div");
  const status = document.createElement("div");
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");
  status.className = "mt-3";
  container.replaceChildren(host, status);

  const show = (kind, title, lines = []) => {
    status.replaceChildren();
    const box = document.createElement("div");
    box.className = `alert alert-${kind} mb-0`;
    box.append(Object.assign(document.createElement("p"), { className: "mb-0", textContent: title }));
    if (lines.length) {
      const list = document.createElement("ul");
      list.className = "mb-0";
      lines.forEach((line) => list.append(Object.assign(document.createElement("li"), { textContent: line })));
      box.append(list);
    }
    status.append(box);
  };

  const form = new Form({ container: host, debounce: false });
  await form.importSchema(
    withSubmitButton(schema, container.dataset.submitLabel || "Submit request"),
    {},
  );
  let inFlight = false;
  let accepted = false;
  form.on("submit", async ({ data, errors }) => {
    if (inFlight || accepted) return;
    const invalid = Object.keys(errors || {});
    if (invalid.length) {
      show("danger", `Please correct ${invalid.length} field(s) marked in the form.`);
      return;
    }
    inFlight = true;
    try {
      const response = await fetch(container.dataset.submitUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-CSRFToken": csrfToken(),
          "Idempotency-Key": key,
        },
        body: JSON.stringify({ process_key: container.dataset.processKey, data }),
      });
      let body = null;
      try {
        body = await response.json();
      } catch {
        body = null;
      }
      if (response.ok) {
        accepted = true;
        form.setProperty("disabled", true);
        show("success", "Request submitted. Opening it…");
        window.location.assign(body.url);
      } else {
        const { marked, rest } = showFieldErrors(form, (body || {}).details);
        const message = errorMessage({ status: response.status, body });
        show(
          "danger",
          marked ? `${message} Please correct ${marked} field(s) marked in the form.` : message,
          rest,
        );
      }
    } catch (exc) {
      show("danger", `Could not reach the server: ${exc.message}`);
    } finally {
      inFlight = false;
    }
  });
  window.FlowgateStartForm = form;
  return form;
}

const boot = () => {
  const container = document.getElementById("task-form");
  if (container && container.dataset.processKey) mountStartForm(container);
};
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
else boot();
