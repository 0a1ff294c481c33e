// Task pages: render a form-js schema and submit its data as JSON. DOM contract:
//   <script type="application/json" id="form-schema">{...form-js schema...}</script>
//   <script type="application/json" id="form-data">{...initial data...}</script>   (optional)
//   <div id="task-form" data-submit-url="/api/..."
//        data-submit-field="data"     (optional; the body is {"<field>": data}; "" sends data as is)
//        data-success-url="/inbox/"   (optional; where to go after a successful submit)
//        data-submit-label="Complete task"></div>   (optional button label)
// An approval with a form adds data-decisions="approve-reject", data-comment-field="<textarea id>"
// and data-actions="<element id>": Approve and Reject buttons go into that element, and the body is
// {"data": {...form values, "approved": true|false, "comment": "<the textarea's text>"}} — the form
// is validated (form-js, then the server) whichever button is pressed.
// The server answers 2xx on success, or 4xx with {"message", "details"?} — details may be a list
// of {"field"|"element_id", "message"} or an object {field: [messages]}. Errors whose field
// names a form field's key are shown on that field (form-js error state, keyed by field id);
// the rest are listed under the form.
// Event on #task-form: form:submitted (detail: response body).
import { Form } from "@bpmn-io/form-js-viewer";
import { errorMessage, postJson } from "../designer/api.js";
import { showFieldErrors } from "./field-errors.js";
import { withSubmitButton } from "./submit-button.js";

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
  const decisions = container.dataset.decisions === "approve-reject";
  const form = new Form({ container: formHost, debounce: false });
  // our submit button inside the form (before form-js's bpmn.io link: the tab order)
  const label = container.dataset.submitLabel || "Submit";
  await form.importSchema(decisions ? schema : withSubmitButton(schema, label), data);

  const commentField = decisions ? document.getElementById(container.dataset.commentField) : null;
  const actions = (decisions && document.getElementById(container.dataset.actions)) || container;
  const buttons = [];
  let approved = null; // the decision of the button that submitted (approvals)
  if (decisions) {
    for (const [label, value, style] of [
      ["Approve", true, "btn-success"],
      ["Reject", false, "btn-danger"],
    ]) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = `btn ${style} me-2`;
      b.textContent = label;
      b.addEventListener("click", () => {
        approved = value;
        form.submit();
      });
      buttons.push(b);
    }
    actions.replaceChildren(...buttons);
  }
  actions.append(status);

  const markComment = (message) => {
    if (!commentField) return false;
    const errorId = `${commentField.id}_error`;
    let box = document.getElementById(errorId);
    if (!message) {
      commentField.classList.remove("is-invalid");
      commentField.removeAttribute("aria-invalid");
      if (box) box.remove();
      return false;
    }
    if (!box) {
      box = document.createElement("div");
      box.id = errorId;
      box.className = "invalid-feedback d-block";
      commentField.after(box);
    }
    box.textContent = message;
    commentField.classList.add("is-invalid");
    commentField.setAttribute("aria-invalid", "true");
    commentField.setAttribute("aria-describedby", errorId);
    return true;
  };

  form.on("submit", async ({ data: values, errors }) => {
    const invalid = Object.keys(errors || {});
    if (invalid.length) {
      showStatus("danger", `Please correct ${invalid.length} field(s) marked in the form.`);
      return;
    }
    const field = container.dataset.submitField ?? "data";
    let payload = values;
    if (decisions) {
      payload = { ...values, approved, comment: commentField ? commentField.value : "" };
      markComment("");
    }
    const body = field ? { [field]: payload } : payload;
    buttons.forEach((b) => {
      b.disabled = true;
    });
    if (!decisions) form.setProperty("disabled", true);
    try {
      const result = await postJson(container.dataset.submitUrl, body);
      if (result.ok) {
        showStatus("success", (result.body && result.body.message) || "Submitted.");
        container.dispatchEvent(new CustomEvent("form:submitted", { detail: result.body, bubbles: true }));
        const next = (result.body && result.body.redirect) || container.dataset.successUrl;
        if (next) window.location.assign(next);
      } else {
        const b = result.body || {};
        let details = b.details || b.errors;
        let commentMarked = false;
        if (decisions && Array.isArray(details)) {
          const onComment = details.filter((d) => d && d.field === "comment");
          if (onComment.length) commentMarked = markComment(onComment.map((d) => d.message).join(" "));
          details = details.filter((d) => !(d && d.field === "comment"));
        }
        const { marked, rest } = showFieldErrors(form, details);
        const count = marked + (commentMarked ? 1 : 0);
        const title = count
          ? `${errorMessage(result)} Please correct ${count} field(s) marked in the form.`
          : errorMessage(result);
        showStatus("danger", title, rest);
      }
    } catch (exc) {
      showStatus("danger", `Could not reach the server: ${exc.message}`);
    } finally {
      buttons.forEach((b) => {
        b.disabled = false;
      });
      if (!decisions) form.setProperty("disabled", false);
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
