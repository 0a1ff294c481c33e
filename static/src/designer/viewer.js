// Read-only diagrams (an earlier version, the two sides of a comparison): bpmn-js's
// NavigatedViewer with markers. DOM contract:
//   .fg-diagram-viewer  data-xml-url   GET the BPMN XML
//                       data-markers   (optional) JSON {element id: marker class}
//                       data-viewer-name  (optional) a name for window.FlowgateViewers
//   [data-focus-element="id"]  buttons that scroll every viewer to that element and mark it.
import NavigatedViewer from "bpmn-js/lib/NavigatedViewer";
import flowgateModdle from "./flowgate-moddle.json";

const FOCUS = "fg-focus";

async function mountViewer(el) {
  const viewer = new NavigatedViewer({ container: el, moddleExtensions: { flowgate: flowgateModdle } });
  const response = await fetch(el.dataset.xmlUrl, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`Could not load the diagram (the server answered ${response.status}).`);
  await viewer.importXML(await response.text());
  const canvas = viewer.get("canvas");
  const registry = viewer.get("elementRegistry");
  canvas.zoom("fit-viewport", "auto");
  const markers = JSON.parse(el.dataset.markers || "{}");
  Object.entries(markers).forEach(([id, marker]) => {
    if (registry.get(id)) canvas.addMarker(id, marker);
  });
  el.dataset.viewerState = "ready";
  return viewer;
}

export function mountViewers() {
  const viewers = {};
  window.FlowgateViewers = viewers;
  const all = [...document.querySelectorAll(".fg-diagram-viewer")].map(async (el, index) => {
    try {
      viewers[el.dataset.viewerName || String(index)] = await mountViewer(el);
    } catch (exc) {
      el.dataset.viewerState = "error";
      el.textContent = exc.message || String(exc);
    }
  });
  document.querySelectorAll("[data-focus-element]").forEach((button) => {
    button.addEventListener("click", () => {
      const id = button.dataset.focusElement;
      Object.values(viewers).forEach((viewer) => {
        const canvas = viewer.get("canvas");
        const registry = viewer.get("elementRegistry");
        registry.getAll().forEach((e) => canvas.removeMarker(e, FOCUS));
        const element = registry.get(id);
        if (element) {
          canvas.addMarker(element, FOCUS);
          if (!element.waypoints) canvas.scrollToElement(element);
        }
      });
    });
  });
  return Promise.all(all);
}
