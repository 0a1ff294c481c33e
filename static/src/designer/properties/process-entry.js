// @ts-check
// The process's own Flowgate settings (the root element, or a pool's process): its category in
// the request catalog, the summary line inbox rows show and the prefix of request references.
// Stored as flowgate:category, flowgate:summary and flowgate:businessKeyPrefix on bpmn:process
// (see flowgate-moddle.json); the inbox reads them from the deployed XML (apps/inbox/model_rules.py).
import { h } from "@bpmn-io/properties-panel/preact";
import { useService } from "bpmn-js-properties-panel";
import { inputValue } from "./events.js";

/** @param {FgModdle | undefined} bo @param {string} type */
const isA = (bo, type) => Boolean(bo && bo.$instanceOf && bo.$instanceOf(type));

/** The bpmn:Process an element stands for (the root process, or a pool's), else null.
 * @param {FgElement | undefined} element @returns {FgModdle | null} */
export function processOf(element) {
  const bo = element && element.businessObject;
  if (!bo) return null;
  if (isA(bo, "bpmn:Process")) return bo;
  if (isA(bo, "bpmn:Participant") && isA(bo.processRef, "bpmn:Process")) return bo.processRef;
  return null;
}

/** @param {{ element: FgElement, process: FgModdle, name: string, label: string, maxlength: number,
 *   help: string, normalise?: (value: string) => string }} field */
function textField({ element, process, name, label, maxlength, help, normalise = (v) => v }) {
  const modeling = useService("modeling");
  const id = `fg-process-${process.id}-${name}`;
  return h("div", { class: "fg-pp-field" },
    h("label", { for: id }, label),
    h("input", { type: "text", id, name, maxlength, value: process.get(`flowgate:${name}`) || "",
      "aria-describedby": `${id}-help`,
      onChange: (e) => modeling.updateModdleProperties(element, process, { [`flowgate:${name}`]: normalise(inputValue(e).trim()) || undefined }) }),
    h("p", { id: `${id}-help`, class: "fg-pp-help" }, help),
  );
}

/** @param {{ element: FgElement }} props */
export function CategoryEntry({ element }) {
  const process = processOf(element);
  if (!process) return null;
  return h("div", { class: "fg-pp" },
    textField({ element, process, name: "category", label: "Category", maxlength: 100,
      help: "The heading this process is listed under in the request catalog; empty: Other." }),
    textField({ element, process, name: "summary", label: "Summary line", maxlength: 500,
      help: "What inbox rows say about a request, with variables in braces, e.g. {amount} — {description}; empty: its reference." }),
    textField({ element, process, name: "businessKeyPrefix", label: "Reference prefix", maxlength: 10,
      normalise: (v) => v.toUpperCase(),
      help: "1 to 10 capitals and digits, starting with a letter: requests get references like EXP-000123; empty: none." }),
    textField({ element, process, name: "calendar", label: "Business calendar", maxlength: 60,
      help: "The short name of the calendar that counts its tasks' SLAs in business hours and days (a task may name its own); empty: the portal's default calendar." }),
  );
}
