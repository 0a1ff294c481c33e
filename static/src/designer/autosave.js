// @ts-check
// Autosave: every change is saved as the person's draft of the process a moment later
// (PUT data-draft-url, KEY = the process id), with a "saved" indicator (#designer-save-state)
// and a warning before leaving the page with changes that are not saved yet.
import { errorMessage, sendJson } from "./api.js";

const DELAY_MS = 1200;

/** @param {HTMLElement} canvasEl the canvas, with data-draft-url (and data-process-key,
 * data-process-url) @param {{ get: (service: string) => any }} modeler bpmn-js's modeler
 * @param {() => Promise<string>} getXml the diagram as BPMN XML */
export function createAutosave(canvasEl, modeler, getXml) {
  const template = canvasEl.dataset.draftUrl;
  if (!template) return null;
  const indicator = document.getElementById("designer-save-state");
  let dirty = false;
  /** @type {number | undefined} */
  let timer;
  let inFlight = Promise.resolve();
  let enabled = false;
  let lastError = "";
  /** @type {Record<string, string>} */
  let firstSave = {}; // {source: file name} for a new draft's default name

  const key = () => modeler.get("canvas").getRootElement().id;
  const url = () => template.replace("KEY", encodeURIComponent(key()));
  /** @param {string} text @param {string} state */
  const say = (text, state) => {
    if (!indicator) return;
    indicator.textContent = text;
    indicator.dataset.state = state;
  };

  const save = async () => {
    timer = undefined;
    const xml = await getXml();
    say("Saving…", "saving");
    let result;
    try {
      result = await sendJson(url(), "PUT", { xml, ...firstSave });
    } catch {
      lastError = "the server could not be reached. Your changes are still here.";
      say(`Not saved: ${lastError}`, "error");
      return; // still dirty: leaving the page asks first
    }
    if (!result.ok) {
      lastError = errorMessage(result);
      say(`Not saved: ${lastError}`, "error");
      return;
    }
    lastError = "";
    firstSave = {};
    dirty = false;
    say(`Saved ${new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" })}`, "saved");
    // A new process gets its own address once its draft exists, so a reload finds it.
    if (!canvasEl.dataset.processKey && canvasEl.dataset.processUrl) {
      window.history.replaceState(null, "", canvasEl.dataset.processUrl.replace("KEY", encodeURIComponent(key())));
    }
  };

  const schedule = () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => {
      inFlight = inFlight.then(save, save);
    }, DELAY_MS);
  };

  modeler.get("eventBus").on("commandStack.changed", (/** @type {{ trigger?: string } | undefined} */ event) => {
    if (!enabled || (event && event.trigger === "clear")) return;
    dirty = true;
    say("Unsaved changes", "dirty");
    schedule();
  });
  window.addEventListener("beforeunload", (event) => {
    if (!dirty) return;
    event.preventDefault();
    event.returnValue = "";
  });

  return {
    /** Start watching for changes (after the first import). */
    enable: () => { enabled = true; },
    isDirty: () => dirty,
    /** Before a deploy: no save pending or running. */
    settle: async () => {
      window.clearTimeout(timer);
      timer = undefined;
      await inFlight;
    },
    /** Save now, whatever changed (an opened file replaces the diagram without an undoable
     * command, so the change watcher does not see it). Resolves to "" when the draft is stored,
     * else to what went wrong. */
    saveNow: async (extra = {}) => {
      firstSave = extra;
      window.clearTimeout(timer);
      timer = undefined;
      dirty = true;
      say("Saving…", "saving");
      inFlight = inFlight.then(save, save);
      await inFlight;
      return dirty ? lastError || "the draft was not saved." : "";
    },
    /** After a deploy: the draft is gone on the server; nothing is unsaved. */
    deployed: () => {
      dirty = false;
      say("All changes deployed", "saved");
      sendJson(url(), "DELETE");
    },
    /** Throw the draft away and go to ``next`` (default: this page again). */
    discard: async (/** @type {string | undefined} */ next) => {
      window.clearTimeout(timer);
      await inFlight;
      dirty = false;
      await sendJson(url(), "DELETE");
      if (next) window.location.assign(next);
      else window.location.reload();
    },
  };
}
