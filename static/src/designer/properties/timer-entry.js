// @ts-check
// Extra entries for the stock "Timer" and "Multi-instance" groups: a plain-language preview
// and presets for timers, and approval presets ("2 of 3 approve") for multi-instance tasks.
import { h } from "@bpmn-io/properties-panel/preact";
import { useService } from "bpmn-js-properties-panel";
import { UNITS, readBusiness, readDuration, timerPreview } from "./durations.js";
import { DurationField, processCalendar } from "./user-task-entry.js";
import { inputValue } from "./events.js";

/** The element's timer event definition, else null. @param {FgElement | undefined} element
 * @returns {FgModdle | null} */
export function timerDefinition(element) {
  const bo = element && element.businessObject;
  const defs = (bo && bo.eventDefinitions) || [];
  return defs.find((/** @type {FgModdle} */ d) => d.$instanceOf("bpmn:TimerEventDefinition")) || null;
}

/** @type {[string, "duration" | "date" | "cycle"][]} */
const KINDS = [
  ["timeDuration", "duration"],
  ["timeDate", "date"],
  ["timeCycle", "cycle"],
];

const PRESETS = {
  duration: [["15 minutes", "PT15M"], ["1 hour", "PT1H"], ["1 day", "P1D"]],
  cycle: [["Every weekday 09:00", "0 9 * * 1-5"], ["Every Monday 09:00", "0 9 * * 1"], ["Every hour", "R/PT1H"]],
};

// The cycle builder: cron lines (start events only; the server refuses cron elsewhere) or
// repeating intervals (R/PT1H) for any timer.
export const WEEKDAYS = [
  ["*", "every day"], ["1-5", "every weekday (Monday to Friday)"], ["1", "every Monday"], ["2", "every Tuesday"],
  ["3", "every Wednesday"], ["4", "every Thursday"], ["5", "every Friday"], ["6", "every Saturday"], ["0", "every Sunday"],
];

/** {days, time} for a cron line the builder can show ("0 9 * * 1"), else null. */
export function readCron(/** @type {string | undefined} */ text) {
  const m = /^(\d{1,2}) (\d{1,2}) \* \* (\*|1-5|[0-6])$/.exec((text || "").trim());
  if (!m || Number(m[1]) > 59 || Number(m[2]) > 23) return null;
  return { days: m[3], time: `${m[2].padStart(2, "0")}:${m[1].padStart(2, "0")}` };
}

/** @param {string} days @param {string} time */
export function writeCron(days, time) {
  const m = /^(\d{2}):(\d{2})$/.exec(time || "");
  if (!m) return "";
  return `${Number(m[2])} ${Number(m[1])} * * ${days}`;
}

/** {amount, unit, times} for a repeating interval the builder can show (R/PT1H, R3/P1D), else null. */
export function readRepeat(/** @type {string | undefined} */ text) {
  const m = /^R(\d*)\/(P.+)$/.exec((text || "").trim().toUpperCase());
  const every = m && readDuration(m[2]);
  return every ? { ...every, times: m[1] } : null;
}

/** The UTC date-time of a timeDate as a datetime-local value ("2030-01-31T09:00"), else "". */
export function readDate(/** @type {string | undefined} */ text) {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2})(?::00)?(?:\.0+)?(?:Z|\+00:00)$/.exec((text || "").trim());
  return m ? m[1] : "";
}

/** @param {{ element: FgElement }} props */
export function TimerPickerEntry({ element }) {
  const modeling = useService("modeling");
  const bpmnFactory = useService("bpmnFactory");
  const definition = timerDefinition(element);
  if (!definition) return null;
  const found = KINDS.find(([prop]) => definition.get(prop));
  const [prop, kind] = found || ["timeDuration", "duration"];
  const value = found ? definition.get(prop).body || "" : "";
  const preview = kind === "duration" && readBusiness(value) ? `${value.trim()} after it is reached (working time of its business calendar)` : timerPreview(kind, value);
  const isStart = element.businessObject.$instanceOf("bpmn:StartEvent");
  const presets = kind === "cycle" || (isStart && !found) ? PRESETS.cycle : PRESETS.duration;
  const prefix = `fg-timer-${element.businessObject.id}`;
  /** @param {"timeDuration" | "timeDate" | "timeCycle"} target @param {string} text */
  const write = (target, text) => {
    /** @type {Record<string, unknown>} */
    const props = { timeDuration: undefined, timeDate: undefined, timeCycle: undefined };
    props[target] = text ? bpmnFactory.create("bpmn:FormalExpression", { body: text }) : bpmnFactory.create("bpmn:FormalExpression");
    modeling.updateModdleProperties(element, definition, props);
  };
  const apply = (/** @type {string} */ text) => write(/^(R|\d+ |\*)/.test(text) ? "timeCycle" : "timeDuration", text);

  let picker = null;
  if (found && kind === "duration") {
    // business hours/days on boundary and intermediate timers (the server refuses them on a
    // start event), counted by the calendar of the task the timer sits on, else the process's
    const attached = element.businessObject.attachedToRef;
    const calendar = (attached && attached.get("flowgate:calendar")) || processCalendar(element.businessObject);
    picker = h(DurationField, { id: `${prefix}-duration`, label: "Wait for", value, help: "How long after the timer is reached it fires.",
      business: !isStart, calendar, onChange: (/** @type {string} */ text) => write("timeDuration", text) });
  } else if (found && kind === "date") {
    picker = h("div", { class: "fg-pp-field" },
      h("label", { for: `${prefix}-date` }, "Date and time (UTC)"),
      h("input", { type: "datetime-local", id: `${prefix}-date`, value: readDate(value), "aria-describedby": `${prefix}-date-help`,
        onChange: (/** @type {Event} */ e) => write("timeDate", inputValue(e) ? `${inputValue(e)}:00Z` : "") }),
      h("p", { id: `${prefix}-date-help`, class: "fg-pp-help" }, "Fires once, at this moment (UTC)."),
    );
  } else if (found && kind === "cycle") {
    const cron = readCron(value);
    const repeat = readRepeat(value);
    const days = cron ? cron.days : "1";
    const time = cron ? cron.time : "09:00";
    picker = h("div", { class: "fg-pp-cycle" },
      isStart
        ? h("fieldset", { class: "fg-pp-field" },
            h("legend", null, "On a schedule (UTC)"),
            h("div", { class: "fg-pp-duration" },
              h("input", { type: "time", id: `${prefix}-time`, value: time, "aria-label": "At (time of day, UTC)",
                onChange: (/** @type {Event} */ e) => write("timeCycle", writeCron(days, inputValue(e))) }),
              h("select", { id: `${prefix}-days`, value: cron ? days : "", "aria-label": "Repeat on",
                onChange: (/** @type {Event} */ e) => inputValue(e) && write("timeCycle", writeCron(inputValue(e), time)) },
                cron ? null : h("option", { value: "" }, "Choose days…"),
                ...WEEKDAYS.map(([v, label]) => h("option", { value: v }, label))),
            ))
        : null,
      h(DurationField, { id: `${prefix}-every`, label: "Or repeat every", value: repeat ? (UNITS.find((u) => u.value === repeat.unit)?.iso(repeat.amount) ?? "") : "",
        help: "The timer fires again after each interval.", onChange: (/** @type {string} */ text) => write("timeCycle", !text || /^R/i.test(text) ? text : `R/${text}`) }),
    );
  }

  return h("div", { class: "fg-pp fg-timer-preview" },
    picker,
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

/** @param {{ element: FgElement }} props */
export function MultiInstancePresetEntry({ element }) {
  const modeling = useService("modeling");
  const bpmnFactory = useService("bpmnFactory");
  const loop = element.businessObject.loopCharacteristics;
  if (!loop || !loop.$instanceOf("bpmn:MultiInstanceLoopCharacteristics")) return null;
  const current = loop.get("completionCondition") && loop.get("completionCondition").body;
  const apply = (/** @type {string[]} */ [, count, condition]) =>
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
