// The process's own Flowgate settings (the root element, or a pool's process): its category in
// the request catalog. Stored as flowgate:category on bpmn:process (see flowgate-moddle.json);
// the inbox reads it from the deployed XML (apps/inbox/model_rules.py).
import { h } from "@bpmn-io/properties-panel/preact";
import { useService } from "bpmn-js-properties-panel";

const isA = (bo, type) => Boolean(bo && bo.$instanceOf && bo.$instanceOf(type));

/** The bpmn:Process an element stands for (the root process, or a pool's), else null. */
export function processOf(element) {
  const bo = element && element.businessObject;
  if (isA(bo, "bpmn:Process")) return bo;
  if (isA(bo, "bpmn:Participant") && isA(bo.processRef, "bpmn:Process")) return bo.processRef;
  return null;
}

export function CategoryEntry({ element }) {
  const modeling = useService("modeling");
  const process = processOf(element);
  if (!process) return null;
  const id = `fg-process-${process.id}-category`;
  return h("div", { class: "fg-pp" },
    h("div", { class: "fg-pp-field" },
      h("label", { for: id }, "Category"),
      h("input", { type: "text", id, name: "category", maxlength: 100, value: process.get("flowgate:category") || "",
        "aria-describedby": `${id}-help`,
        onChange: (e) => modeling.updateModdleProperties(element, process, { "flowgate:category": e.target.value.trim() || undefined }) }),
      h("p", { id: `${id}-help`, class: "fg-pp-help" }, "The heading this process is listed under in the request catalog; empty: Other."),
    ),
  );
}
