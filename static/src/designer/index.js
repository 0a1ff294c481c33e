// Designer pages: the bpmn-js modeler on #designer-canvas. DOM contract (docs/frontend.md):
//   #designer-canvas  data-xml-url       GET the BPMN XML (404 -> our executable blank template)
//                     data-validate-url  POST {"xml"} -> {"valid", "problems": [...]}
//                     data-deploy-url    POST {"xml"} -> 201 {"version"} | 422 {"error", "message", "details"}
//                     data-process-key / data-process-name   (optional) id/name for a blank diagram
//   #designer-properties   (optional) bpmn-js properties panel
//   #designer-problems     (optional, created if missing) role="status" list of problems
//   [data-designer-action="validate|deploy|download|open"]   toolbar buttons
// Events dispatched on the canvas element: designer:ready, designer:validated, designer:deployed.
import { layoutProcess } from "bpmn-auto-layout";
import Modeler from "bpmn-js/lib/Modeler";
import {
  BpmnPropertiesPanelModule,
  BpmnPropertiesProviderModule,
} from "bpmn-js-properties-panel";
import blankXml from "./blank.bpmn";
import flowgateModdle from "./flowgate-moddle.json";
import { errorMessage, postJson } from "./api.js";
import { createAutosave } from "./autosave.js";
import { FlowLabelPlacementModule } from "./label-placement.js";
import { createProblemList } from "./problems.js";
import * as conditions from "./properties/conditions.js";
import * as durations from "./properties/durations.js";
import { FlowgatePropertiesProviderModule } from "./properties/provider.js";
import { mountTestRun } from "./testrun.js";
import { mountViewers } from "./viewer.js";

const ID_PATTERN = /^[A-Za-z_][\w.-]*$/;
// Where designer.js was loaded from: the form builder bundle sits next to it.
const SCRIPT_SRC = document.currentScript ? document.currentScript.src : "";

function siblingAsset(name) {
  return SCRIPT_SRC ? new URL(name, SCRIPT_SRC).toString() : `/static/${name}`;
}

let formEditorLoading = null;

/** Load form-editor.js/.css once (URLs from data-form-editor-js/-css, else next to designer.js). */
function loadFormEditor(canvasEl) {
  if (window.FlowgateFormEditor) return Promise.resolve(window.FlowgateFormEditor);
  if (!formEditorLoading) {
    formEditorLoading = new Promise((resolve, reject) => {
      const css = document.createElement("link");
      css.rel = "stylesheet";
      css.href = canvasEl.dataset.formEditorCss || siblingAsset("form-editor.css");
      document.head.append(css);
      const script = document.createElement("script");
      script.src = canvasEl.dataset.formEditorJs || siblingAsset("form-editor.js");
      script.onload = () => resolve(window.FlowgateFormEditor);
      script.onerror = () => {
        formEditorLoading = null;
        reject(new Error("The form builder could not be loaded. Check your connection and try again."));
      };
      document.head.append(script);
    });
  }
  return formEditorLoading;
}

/** A fresh process id, so that two new diagrams never deploy as versions of one process. */
function newProcessKey() {
  const random = new Uint32Array(2);
  window.crypto.getRandomValues(random);
  return `Process_${[...random].map((n) => n.toString(36)).join("").slice(0, 10)}`;
}

export function blankDiagram({ key, name } = {}) {
  const processKey = key && ID_PATTERN.test(key) && key !== "Start" ? key : newProcessKey();
  let xml = blankXml.replaceAll('"Process_1"', `"${processKey}"`);
  if (name) {
    const escaped = name
      .replaceAll("&", "&amp;")
      .replaceAll('"', "&quot;")
      .replaceAll("<", "&lt;")
      .replaceAll(">", "&gt;");
    xml = xml.replace('name="New process"', `name="${escaped}"`);
  }
  return xml;
}

/** A template's XML under a fresh process id (its file's id is the template's key). */
export function fromTemplate(xml, templateKey) {
  const random = new Uint32Array(1);
  window.crypto.getRandomValues(random);
  const key = `${templateKey}_${random[0].toString(36).slice(0, 6)}`;
  return xml
    .replaceAll(`id="${templateKey}"`, `id="${key}"`)
    .replaceAll(`bpmnElement="${templateKey}"`, `bpmnElement="${key}"`);
}

async function loadXml(canvasEl) {
  const url = canvasEl.dataset.xmlUrl;
  const blank = () =>
    blankDiagram({ key: canvasEl.dataset.processKey, name: canvasEl.dataset.processName });
  if (!url) return { xml: blank(), isNew: true };
  const templateKey = canvasEl.dataset.templateKey;
  const response = await fetch(url, {
    credentials: "same-origin",
    headers: { Accept: "application/xml, text/xml" },
  });
  if (response.status === 404) return { xml: blank(), isNew: true };
  if (!response.ok) {
    throw new Error(`Could not load the diagram (the server answered ${response.status}).`);
  }
  const xml = await response.text();
  if (templateKey) return { xml: fromTemplate(xml, templateKey), isNew: true };
  return { xml, isNew: false };
}

/** Fit the diagram into the canvas, leaving the palette's strip on the left free: bpmn-js's own
 * fit-viewport draws from the canvas's left edge, so a start event there sat under the palette. */
export function fitDiagram(modeler) {
  const canvas = modeler.get("canvas");
  canvas.zoom("fit-viewport", "auto");
  const container = canvas.getContainer();
  const palette = container.querySelector(".djs-palette");
  const { inner, outer } = canvas.viewbox();
  if (!palette || !inner.width || !inner.height) return;
  const pad = 16;
  const left = palette.getBoundingClientRect().right - container.getBoundingClientRect().left + pad;
  const width = outer.width - left - pad;
  const height = outer.height - 2 * pad;
  if (width <= 0 || height <= 0) return;
  const scale = Math.min(1, width / inner.width, height / inner.height);
  canvas.viewbox({
    x: inner.x - (left + (width - inner.width * scale) / 2) / scale,
    y: inner.y - (pad + (height - inner.height * scale) / 2) / scale,
    width: outer.width / scale,
    height: outer.height / scale,
  });
}

const FLASH_KEY = "flowgate-designer-flash";

/** After a deploy: the new process's own page (first deploy), else a fresh version history. */
async function afterDeploy(canvasEl, key, title) {
  if (!canvasEl.dataset.processKey && canvasEl.dataset.processUrl && key) {
    window.sessionStorage.setItem(FLASH_KEY, title);
    window.location.assign(canvasEl.dataset.processUrl.replace("KEY", encodeURIComponent(key)));
    return;
  }
  const history = document.getElementById("designer-versions");
  if (!history) return;
  const response = await fetch(window.location.href, { credentials: "same-origin" });
  if (!response.ok) return;
  const page = new DOMParser().parseFromString(await response.text(), "text/html");
  const fresh = page.getElementById("designer-versions");
  if (fresh) history.replaceChildren(...fresh.childNodes);
}

function ensureProblemsContainer(canvasEl) {
  let container = document.getElementById("designer-problems");
  if (!container) {
    container = document.createElement("div");
    container.id = "designer-problems";
    canvasEl.insertAdjacentElement("afterend", container);
  }
  container.setAttribute("role", "status");
  container.setAttribute("aria-live", "polite");
  return container;
}

function download(filename, text) {
  const url = URL.createObjectURL(new Blob([text], { type: "application/xml" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  URL.revokeObjectURL(url);
}

export async function mountDesigner(canvasEl) {
  const propertiesEl = document.getElementById("designer-properties");
  const modeler = new Modeler({
    container: canvasEl,
    moddleExtensions: { flowgate: flowgateModdle },
    additionalModules: propertiesEl
      ? [FlowLabelPlacementModule, BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, FlowgatePropertiesProviderModule]
      : [FlowLabelPlacementModule],
    propertiesPanel: propertiesEl ? { parent: propertiesEl } : undefined,
    // read by the Flowgate properties provider (the "Form" group's form builder)
    flowgate: { loadFormEditor: () => loadFormEditor(canvasEl) },
  });
  const problems = createProblemList(ensureProblemsContainer(canvasEl), modeler);

  const emit = (name, detail) =>
    canvasEl.dispatchEvent(new CustomEvent(name, { detail, bubbles: true }));

  const getXml = async () => (await modeler.saveXML({ format: true })).xml;

  const importXml = async (source) => {
    // A file without diagram interchange (no BPMNDiagram: generated or written by hand) runs
    // fine but cannot be drawn: lay it out first.
    const needsLayout = !/<([\w-]+:)?BPMNPlane[\s>]/.test(source);
    const xml = needsLayout ? await layoutProcess(source) : source;
    const { warnings } = await modeler.importXML(xml);
    fitDiagram(modeler);
    if (needsLayout) {
      problems.show({
        kind: "info",
        title: "This file had no diagram layout; Flowgate arranged the elements automatically.",
      });
    } else if (warnings.length) {
      problems.show({
        kind: "info",
        title: `The diagram was opened with ${warnings.length} warning(s).`,
        problems: warnings.map((w) => ({ element_id: w.element && w.element.id, code: "import", message: w.message })),
      });
    }
  };

  const autosave = createAutosave(canvasEl, modeler, getXml);

  const busy = async (action, fn) => {
    const buttons = document.querySelectorAll(`[data-designer-action="${action}"]`);
    buttons.forEach((b) => { b.disabled = true; b.setAttribute("aria-busy", "true"); });
    try {
      return await fn();
    } catch (exc) {
      problems.show({ kind: "danger", title: exc.message || String(exc) });
      return null;
    } finally {
      buttons.forEach((b) => { b.disabled = false; b.removeAttribute("aria-busy"); });
    }
  };

  const validate = () =>
    busy("validate", async () => {
      const url = canvasEl.dataset.validateUrl;
      if (!url) throw new Error("This page has no validate address (data-validate-url).");
      const result = await postJson(url, { xml: await getXml() });
      if (!result.ok || !result.body) {
        problems.show({ kind: "danger", title: errorMessage(result) });
        return result;
      }
      const found = result.body.problems || [];
      if (result.body.valid) {
        problems.show({ kind: "success", title: "No problems found: the process can be deployed.", problems: found });
      } else {
        problems.show({ kind: "danger", title: `${found.length} problem(s) must be fixed before deploying.`, problems: found });
      }
      emit("designer:validated", result.body);
      return result;
    });

  const deploy = () =>
    busy("deploy", async () => {
      const url = canvasEl.dataset.deployUrl;
      if (!url) throw new Error("This page has no deploy address (data-deploy-url).");
      if (autosave) await autosave.settle();
      const commentEl = document.getElementById("designer-deploy-comment");
      const comment = commentEl ? commentEl.value.trim() : "";
      const result = await postJson(url, { xml: await getXml(), comment });
      if (result.ok && result.body) {
        // {"version": {...}} or the version object itself; 200 = identical to a deployed version.
        const v = result.body.version || result.body;
        const label = v.number ?? v.version ?? v.id ?? "";
        const title =
          result.status === 200
            ? `No changes: version ${label} is already deployed.`
            : `Deployed version ${label}.`;
        problems.show({ kind: "success", title: title.replace(" .", ".") });
        if (commentEl && result.status !== 200) commentEl.value = "";
        if (autosave) autosave.deployed();
        emit("designer:deployed", { ...result.body, version: v, created: result.status !== 200 });
        if (result.status !== 200) await afterDeploy(canvasEl, v.key, title);
      } else if (result.status === 422 && result.body) {
        const details = result.body.details || result.body.problems || [];
        problems.show({ kind: "danger", title: errorMessage(result), problems: details });
      } else {
        problems.show({ kind: "danger", title: errorMessage(result) });
      }
      return result;
    });

  /** Open a file: the server maps Camunda 7/8 settings and lists what must be configured. */
  const openFile = async (text, fileName = "") => {
    const url = canvasEl.dataset.importUrl;
    if (!url) {
      await importXml(text);
      if (autosave) await autosave.saveNow({ source: fileName });
      return null;
    }
    const result = await postJson(url, { xml: text });
    if (!result.ok || !result.body) {
      problems.show({ kind: "danger", title: errorMessage(result), problems: (result.body && result.body.details) || [] });
      return null;
    }
    const { xml, mapped = [], problems: found = [], not_imported: dropped = [], has_diagram: hasDiagram } = result.body;
    await importXml(xml);
    const parts = [];
    if (!hasDiagram) parts.push("the file had no diagram layout, so Flowgate arranged the elements automatically");
    if (mapped.length) parts.push(`${mapped.length} setting(s) were mapped to Flowgate settings`);
    const head = parts.length ? `Imported: ${parts.join("; ")}.` : "Imported.";
    // ``found`` is what Validate says of this diagram (the same check); ``dropped`` are
    // settings of the file that could not be carried over, to make again by hand.
    problems.show({
      kind: found.length ? "danger" : "success",
      title: found.length ? `${head} ${found.length} problem(s) must be fixed before deploying.` : `${head} No problems found.`,
      problems: found,
      notes: mapped.map((m) => `${m.element_id ? `${m.element_id}: ` : ""}${m.message}`),
      warnings: dropped,
      warningsTitle: `${dropped.length} setting(s) of the file could not be imported; set them again in the properties panel:`,
    });
    if (autosave) {
      // Opening a file is a change like any other: store it as the draft now (a new process
      // gets its address from it), and say so plainly when that fails.
      const failed = await autosave.saveNow({ source: fileName });
      if (failed) {
        problems.show({ kind: "danger", title: `The opened file is not saved: ${failed} Try again, or download it to keep a copy.` });
      }
    }
    emit("designer:imported", result.body);
    return result.body;
  };

  const actions = {
    validate,
    deploy,
    download: async () => {
      const key = modeler.get("canvas").getRootElement().id || canvasEl.dataset.processKey || "process";
      download(`${key.replace(/[^\w.-]/g, "_")}.bpmn`, await getXml());
    },
  };
  document.querySelectorAll("[data-designer-action]").forEach((button) => {
    const name = button.dataset.designerAction;
    if (name === "open") {
      button.addEventListener("change", async () => {
        const file = button.files && button.files[0];
        if (file) await busy("open", async () => openFile(await file.text(), file.name));
        button.value = "";
      });
    } else if (name === "discard-draft") {
      button.addEventListener("click", () => {
        // Discarding loses work: ask first (the list page asks with its own confirmation step).
        if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
        if (autosave) autosave.discard(button.dataset.next);
      });
    } else if (actions[name]) {
      button.addEventListener("click", () => actions[name]());
    }
  });

  const testRunEl = document.getElementById("designer-testrun");
  const testRun = testRunEl ? mountTestRun(testRunEl, modeler) : null;
  const api = { modeler, validate, deploy, getXml, importXml, openFile, problems, conditions, durations, testRun, autosave };
  window.FlowgateDesigner = api;
  try {
    const { xml, isNew } = await loadXml(canvasEl);
    await importXml(xml);
    canvasEl.dataset.designerState = "ready";
    if (autosave) autosave.enable();
    const flash = window.sessionStorage.getItem(FLASH_KEY);
    if (flash) {
      window.sessionStorage.removeItem(FLASH_KEY);
      problems.show({ kind: "success", title: flash });
    }
    emit("designer:ready", { isNew });
  } catch (exc) {
    canvasEl.dataset.designerState = "error";
    problems.show({ kind: "danger", title: exc.message || String(exc) });
  }
  return api;
}

const start = () => {
  const canvasEl = document.getElementById("designer-canvas");
  if (canvasEl) mountDesigner(canvasEl);
  if (document.querySelector(".fg-diagram-viewer")) mountViewers();
};
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
