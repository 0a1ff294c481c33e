// Read-only process diagram with progress: <div class="fg-diagram" data-current="a b"
// data-done="c d"> and <script type="application/json" id="diagram-xml">"<xml>"</script>.
// Current steps get the marker fg-current, finished ones fg-done; a text list next to the
// diagram says the same for screen readers.
import NavigatedViewer from "bpmn-js/lib/NavigatedViewer";

async function mount(container) {
  if (container.dataset.mounted) return;
  container.dataset.mounted = "true";
  const source = document.getElementById(container.dataset.xmlId || "diagram-xml");
  if (!source) return;
  let xml;
  try {
    xml = JSON.parse(source.textContent);
  } catch {
    return;
  }
  const viewer = new NavigatedViewer({ container });
  try {
    await viewer.importXML(xml);
  } catch (exc) {
    container.textContent = `The diagram could not be shown: ${exc.message}`;
    return;
  }
  const canvas = viewer.get("canvas");
  const registry = viewer.get("elementRegistry");
  const mark = (ids, marker) =>
    (ids || "").split(" ").filter(Boolean).forEach((id) => {
      if (registry.get(id)) canvas.addMarker(id, marker);
    });
  mark(container.dataset.done, "fg-done");
  mark(container.dataset.current, "fg-current");
  canvas.zoom("fit-viewport");
  container.dataset.ready = "true";
}

const boot = () => document.querySelectorAll(".fg-diagram").forEach(mount);
// Live refreshes (htmx) bring a new diagram element with the new progress.
document.addEventListener("htmx:load", (event) => {
  const root = event.target;
  if (root && root.querySelectorAll) root.querySelectorAll(".fg-diagram").forEach(mount);
});
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
else boot();
