// Extra entries for the stock "Timer" and "Multi-instance" groups: a plain-language preview
// and presets for timers, and approval presets ("2 of 3 approve") for multi-instance tasks.
import { h } from "@bpmn-io/properties-panel/preact";
import { useService } from "bpmn-js-properties-panel";
import { timerPreview } from "./durations.js";

export function timerDefinition(element) {
  const bo = element && element.businessObject;
  const defs = (bo && bo.eventDefinitions) || [];
  return defs.find((d) => d.$instanceOf("bpmn:TimerEventDefinition")) || null;
}

const KINDS = [
  ["timeDuration", "duration"],
  ["timeDate", "date"],
  ["timeCycle", "cycle"],
];

const PRESETS = {
  duration: [["15 minutes", "PT15M"], ["1 hour", "PT1H"], ["1 day", "P1D"]],
  cycle: [["Every weekday 09:00", "0 9 * * 1-5"], ["Every Monday 09:00", "0 9 * * 1"], ["Every hour", "R/PT1H"]],
};

export function TimerPreviewEntry({ element }) {
  const modeling = useService("modeling");
  const bpmnFactory = useService("bpmnFactory");
  const definition = timerDefinition(element);
  if (!definition) return null;
  const found = KINDS.find(([prop]) => definition.get(prop));
  const [prop, kind] = found || ["timeDuration", "duration"];
  const value = found ? definition.get(prop).body || "" : "";
  const preview = timerPreview(kind, value);
  const isStart = element.businessObject.$instanceOf("bpmn:StartEvent");
  const presets = kind === "cycle" || (isStart && !found) ? PRESETS.cycle : PRESETS.duration;
  const apply = (text) => {
    const target = /^(R|\d+ |\*)/.test(text) ? "timeCycle" : "timeDuration";
    const props = { timeDuration: undefined, timeDate: undefined, timeCycle: undefined };
    props[target] = bpmnFactory.create("bpmn:FormalExpression", { body: text });
    modeling.updateModdleProperties(element, definition, props);
  };
  return h("div", { class: "fg-pp fg-timer-preview" },
    h("p", { class: "fg-pp-preview", "aria-live": "polite" },
      value ? (preview ? `Fires ${preview}.` : `'${value}' is not a timer Flowgate understands; the server will say why when you validate.`) : "Choose when this timer fires."),
    h("div", { class: "fg-pp-presets", role: "group", "aria-label": "Timer presets" },
      ...presets.map(([label, text]) => h("button", { type: "button", onClick: () => apply(text) }, label))),
  );
}

const MI_PRESETS = [
  ["All of 3 approve", "3", "nrOfRejected >= 1"],
  ["2 of 3 approve", "3", "nrOfApproved >= 2 or nrOfRejected >= 2"],
  ["Any 1 of 3 approves", "3", "nrOfApproved >= 1"],
];

export function MultiInstancePresetEntry({ element }) {
  const modeling = useService("modeling");
  const bpmnFactory = useService("bpmnFactory");
  const loop = element.businessObject.loopCharacteristics;
  if (!loop || !loop.$instanceOf("bpmn:MultiInstanceLoopCharacteristics")) return null;
  const current = loop.get("completionCondition") && loop.get("completionCondition").body;
  const apply = ([, count, condition]) =>
    modeling.updateModdleProperties(element, loop, {
      loopCardinality: bpmnFactory.create("bpmn:FormalExpression", { body: count }),
      completionCondition: bpmnFactory.create("bpmn:FormalExpression", { body: condition }),
      "flowgate:collection": undefined,
    });
  const active = MI_PRESETS.find(([, , condition]) => condition === current);
  return h("div", { class: "fg-pp" },
    h("div", { class: "fg-pp-presets", role: "group", "aria-label": "Approval presets" },
      ...MI_PRESETS.map((preset) => h("button", { type: "button", "aria-pressed": active === preset ? "true" : "false", onClick: () => apply(preset) }, preset[0]))),
    h("p", { class: "fg-pp-help" }, active ? `Preset: ${active[0]} (three parallel approvals; decided as soon as the outcome is certain).` : "Presets set three parallel approvals and when the step is decided."),
  );
}
