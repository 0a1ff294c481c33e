// Bottleneck heatmap: the version's diagram in a bpmn-js NavigatedViewer, each activity filled by
// the chosen figure (p95 duration, mean waiting time or count waiting) on a green -> red scale.
// Clicking an activity (or its row in the table beside it) lists its slowest instances.
import NavigatedViewer from "bpmn-js/lib/NavigatedViewer";

const SCALE = ["#d1e7dd", "#fff3cd", "#f8d7da", "#dc3545"];

function lerp(a, b, t) {
  const pa = parseInt(a.slice(1), 16);
  const pb = parseInt(b.slice(1), 16);
  const ch = (shift) => Math.round(((pa >> shift) & 255) + (((pb >> shift) & 255) - ((pa >> shift) & 255)) * t);
  return `rgb(${ch(16)}, ${ch(8)}, ${ch(0)})`;
}

export function colorFor(value, max) {
  if (value === null || value === undefined || !max) return null;
  const t = Math.max(0, Math.min(1, value / max)) * (SCALE.length - 1);
  const i = Math.min(SCALE.length - 2, Math.floor(t));
  return lerp(SCALE[i], SCALE[i + 1], t - i);
}

function text(node, value) {
  node.textContent = value;
  return node;
}

async function showSlowest(panel, url, activityId) {
  panel.replaceChildren(text(document.createElement("p"), `Loading the slowest instances at ${activityId}…`));
  const response = await fetch(`${url}?activity_id=${encodeURIComponent(activityId)}`, {
    headers: { Accept: "application/json" },
    credentials: "same-origin",
  });
  const body = await response.json();
  const heading = text(document.createElement("h3"), `Slowest at ${activityId}`);
  heading.className = "h6";
  heading.tabIndex = -1;
  const list = document.createElement("ol");
  list.dataset.testid = "slowest-list";
  for (const row of body.instances || []) {
    const item = document.createElement("li");
    const link = text(document.createElement("a"), `#${row.instance_id}${row.business_key ? ` ${row.business_key}` : ""}`);
    link.href = row.url;
    item.append(link, ` — ${row.duration_label}${row.open ? " (still open)" : ""}`);
    list.append(item);
  }
  if (!list.children.length) list.append(text(document.createElement("li"), "No instances."));
  panel.replaceChildren(heading, list);
  heading.focus();
}

async function start() {
  const root = document.getElementById("heatmap");
  if (!root) return;
  const figures = JSON.parse(document.getElementById("heatmap-data").textContent);
  const xml = JSON.parse(document.getElementById("heatmap-xml").textContent);
  const measure = root.dataset.measure;
  const panel = document.getElementById("heatmap-slowest");
  const slowestUrl = root.dataset.slowestUrl;
  const viewer = new NavigatedViewer({ container: root.querySelector(".fg-heatmap-canvas") });
  try {
    await viewer.importXML(xml);
  } catch (err) {
    root.querySelector(".fg-heatmap-canvas").textContent = `The diagram could not be shown: ${err.message}`;
    return;
  }
  const canvas = viewer.get("canvas");
  const registry = viewer.get("elementRegistry");
  const overlays = viewer.get("overlays");
  canvas.zoom("fit-viewport");
  const byId = Object.fromEntries(figures.activities.map((a) => [a.activity_id, a]));
  const max = Math.max(0, ...figures.activities.map((a) => a[measure] || 0));
  for (const element of registry.filter((e) => byId[e.id])) {
    const figure = byId[element.id];
    const color = colorFor(figure[measure], max);
    const shape = canvas.getGraphics(element).querySelector(".djs-visual > rect");
    if (color && shape) {
      shape.style.fill = color;
      canvas.getGraphics(element).setAttribute("data-heat", color);
    }
    canvas.getGraphics(element).setAttribute("data-heat-activity", element.id);
    const badge = text(document.createElement("div"), figure[`${measure}_label`]);
    badge.className = "fg-heatmap-badge";
    overlays.add(element.id, { position: { bottom: -4, left: 0 }, html: badge });
  }
  let selected = null;
  const select = (id) => {
    if (selected) canvas.removeMarker(selected, "fg-selected");
    selected = id;
    canvas.addMarker(id, "fg-selected");
    showSlowest(panel, slowestUrl, id);
  };
  viewer.get("eventBus").on("element.click", (event) => {
    if (byId[event.element.id]) select(event.element.id);
  });
  for (const button of document.querySelectorAll("[data-heat-select]")) {
    button.addEventListener("click", () => select(button.dataset.heatSelect));
  }
  root.dataset.ready = "1";
}

// The operations console's instance page: the same viewer, with the current tokens (blue),
// failed steps (red) and completed steps (green) marked.
async function instanceDiagram() {
  const root = document.getElementById("instance-diagram");
  if (!root) return;
  const info = JSON.parse(document.getElementById("instance-diagram-data").textContent);
  const viewer = new NavigatedViewer({ container: root.querySelector(".fg-heatmap-canvas") });
  try {
    await viewer.importXML(info.xml);
  } catch (err) {
    root.querySelector(".fg-heatmap-canvas").textContent = `The diagram could not be shown: ${err.message}`;
    return;
  }
  const canvas = viewer.get("canvas");
  const registry = viewer.get("elementRegistry");
  canvas.zoom("fit-viewport");
  const mark = (ids, cls) => {
    for (const id of ids) if (registry.get(id)) canvas.addMarker(id, cls);
  };
  mark(info.visited, "fg-visited");
  mark(info.tokens, "fg-token");
  mark(info.failed, "fg-failed");
  root.dataset.ready = "1";
}

function boot() {
  start();
  instanceDiagram();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
else boot();
