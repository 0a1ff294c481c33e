// The form builder (form-js editor) in a modal dialog. Loaded on demand by the designer's
// Flowgate panel, so designer.js stays smaller:
//   window.FlowgateFormEditor.open({ schema, onSave(schema), title })
import { FormEditor } from "@bpmn-io/form-js-editor";

const EMPTY_SCHEMA = { type: "default", components: [] };
let counter = 0;

export async function openFormEditor({ schema, onSave, title = "Form builder" } = {}) {
  const titleId = `fg-form-editor-title-${++counter}`;
  const dialog = document.createElement("dialog");
  dialog.className = "fg-form-editor-dialog";
  dialog.setAttribute("aria-labelledby", titleId);
  dialog.innerHTML = `
    <div class="fg-form-editor-head">
      <h2 class="h5 mb-0"></h2>
      <div class="d-flex gap-2">
        <button type="button" class="btn btn-outline-secondary btn-sm" data-action="cancel">Cancel</button>
        <button type="button" class="btn btn-primary btn-sm" data-action="save">Use this form</button>
      </div>
    </div>
    <div class="fg-form-editor-host"></div>`;
  const heading = dialog.querySelector("h2");
  heading.id = titleId;
  heading.textContent = title;
  document.body.append(dialog);

  const editor = new FormEditor({ container: dialog.querySelector(".fg-form-editor-host") });
  await editor.importSchema(schema && typeof schema === "object" ? schema : EMPTY_SCHEMA);

  return new Promise((resolve) => {
    const finish = (saved) => {
      if (dialog.open) dialog.close();
      editor.destroy();
      dialog.remove();
      resolve(saved);
    };
    dialog.querySelector('[data-action="save"]').addEventListener("click", () => {
      const saved = editor.saveSchema();
      if (onSave) onSave(saved);
      finish(saved);
    });
    dialog.querySelector('[data-action="cancel"]').addEventListener("click", () => finish(null));
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault(); // Escape: same as Cancel, but through our clean-up
      finish(null);
    });
    dialog.showModal();
  });
}

window.FlowgateFormEditor = { open: openFormEditor };
