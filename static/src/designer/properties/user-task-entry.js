// @ts-check
// The "People and deadlines" and "Approval" groups of a user task (properties-panel provider
// entries): candidate roles and users picked from what the server knows, assignee, due date,
// priority, SLA targets, and the approval settings. Values are Flowgate moddle attributes.
import { h } from "@bpmn-io/properties-panel/preact";
import { useEffect, useState } from "@bpmn-io/properties-panel/preact/hooks";
import { useService } from "bpmn-js-properties-panel";
import { BUSINESS_UNITS, UNITS, readBusiness, readDuration, timerPreview, writeDuration } from "./durations.js";
import { inputChecked, inputValue } from "./events.js";

/** The JSON list the page put in the element ``id`` (roles, users, calendars), else [].
 * @param {string} id @returns {string[]} */
function serverList(id) {
  const node = document.getElementById(id);
  try {
    return node ? JSON.parse(/** @type {string} */ (node.textContent)) : [];
  } catch {
    return [];
  }
}

const splitList = (/** @type {string | undefined} */ text) => (text || "").split(",").map((s) => s.trim()).filter(Boolean);

/** @param {FgElement} element */
function useSetter(element) {
  const modeling = useService("modeling");
  return (/** @type {string} */ attr, /** @type {unknown} */ value) =>
    modeling.updateProperties(element, { [`flowgate:${attr}`]: value === "" || value === false ? undefined : value });
}

/** The flowgate:calendar of the process a flow element belongs to ("" when none). */
export function processCalendar(/** @type {FgModdle} */ bo) {
  let parent = bo.$parent;
  while (parent && !(parent.$instanceOf && parent.$instanceOf("bpmn:Process"))) parent = parent.$parent;
  return (parent && parent.get("flowgate:calendar")) || "";
}

/** @param {{ id: string, text: string }} props */
function Help({ id, text }) {
  return h("p", { id, class: "fg-pp-help" }, text);
}

/** The server's answer to "if the task were created now, when would this be due?" under the
 * task's (else the process's, else the default) business calendar; "" while asking. */
function useBusinessPreview(/** @type {string | undefined} */ value, /** @type {string} */ calendar) {
  const [text, setText] = useState("");
  useEffect(() => {
    if (!value || !readBusiness(value)) return setText("");
    const query = new URLSearchParams({ duration: value, calendar: calendar || "" });
    let live = true;
    fetch(`/api/v1/calendar-preview/?${query}`, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((/** @type {Response} */ r) => r.json().then((/** @type {any} */ body) => ({ ok: r.ok, body })))
      .then(({ ok, body }) => {
        if (!live) return;
        const named = body.calendar ? `the ${body.calendar} calendar` : "Monday–Friday 09:00–17:00";
        setText(ok ? `If created now: due ${body.in_words} (${named}).` : body.message || "");
      })
      .catch(() => live && setText(""));
    return () => { live = false; };
  }, [value, calendar]);
  return text;
}

/** A duration picker (amount + unit) with a free-text fallback and a preview; ``business``
 * adds business hours/days (SLA fields), previewed by the server under ``calendar``. */
/** @param {{ id: string, label: string, value: string | undefined, onChange: (text: string) => void, help: string,
 *   business?: boolean, calendar?: string }} props */
export function DurationField({ id, label, value, onChange, help, business = false, calendar = "" }) {
  const parsed = readDuration(value) || (business ? readBusiness(value) : null);
  const units = business ? [...UNITS, ...BUSINESS_UNITS] : UNITS;
  const custom = value && !parsed;
  const businessPreview = useBusinessPreview(business ? value : "", calendar);
  const preview = businessPreview || (value && !readBusiness(value) ? timerPreview("duration", value) : null);
  return h("div", { class: "fg-pp-field", "data-field": id },
    h("label", { for: `${id}-amount` }, label),
    h("div", { class: "fg-pp-duration" },
      h("input", { type: "number", min: 1, id: `${id}-amount`, value: parsed ? parsed.amount : "", disabled: custom,
        "aria-describedby": `${id}-help`,
        onChange: (/** @type {Event} */ e) => onChange(writeDuration(inputValue(e), (parsed && parsed.unit) || /** @type {HTMLSelectElement} */ (document.getElementById(`${id}-unit`)).value)) }),
      h("select", { id: `${id}-unit`, "aria-label": `${label} unit`, value: parsed ? parsed.unit : "D", disabled: custom,
        onChange: (/** @type {Event} */ e) => parsed && onChange(writeDuration(parsed.amount, inputValue(e))) },
        ...units.map((u) => h("option", { value: u.value }, u.label))),
    ),
    h("input", { type: "text", class: "fg-pp-raw", id: `${id}-raw`, value: value || "", "aria-label": `${label} (ISO-8601 or expression)`,
      placeholder: "or ISO-8601 / ${expression}", onChange: (/** @type {Event} */ e) => onChange(inputValue(e).trim()) }),
    h(Help, { id: `${id}-help`, text: businessPreview ? `${help} ${businessPreview}` : preview ? `${help} Now: ${preview}.` : help }),
  );
}

/** @param {{ element: FgElement }} props */
export function PeopleEntry({ element }) {
  const set = useSetter(element);
  const bo = element.businessObject;
  const roles = serverList("designer-roles");
  const users = serverList("designer-users");
  const calendars = serverList("designer-calendars");
  const taskCalendar = bo.get("flowgate:calendar") || processCalendar(bo);
  const groups = splitList(bo.get("flowgate:candidateGroups"));
  const wrapped = /^\$\{/.test((bo.get("flowgate:candidateGroups") || "").trim());
  const known = wrapped ? [] : groups.filter((/** @type {string} */ g) => roles.includes(g));
  const other = wrapped ? bo.get("flowgate:candidateGroups") : groups.filter((/** @type {string} */ g) => !roles.includes(g)).join(", ");
  const prefix = `fg-people-${bo.id}`;
  /** @param {string[]} nextKnown @param {string} nextOther */
  const saveGroups = (nextKnown, nextOther) => {
    const otherText = (nextOther || "").trim();
    if (/^\$\{/.test(otherText)) return set("candidateGroups", otherText);
    return set("candidateGroups", [...nextKnown, ...splitList(otherText)].join(", "));
  };
  return h("div", { class: "fg-pp" },
    h("fieldset", { class: "fg-pp-field fg-pp-roles" },
      h("legend", null, "Candidate roles"),
      ...roles.map((role) => h("label", { class: "fg-pp-check" },
        h("input", { type: "checkbox", name: "candidateRole", value: role, checked: known.includes(role),
          onChange: (/** @type {Event} */ e) => saveGroups(inputChecked(e) ? [...known, role] : known.filter((/** @type {string} */ r) => r !== role), other) }),
        ` ${role}`)),
      h("label", { for: `${prefix}-other`, class: "fg-pp-sub" }, "Other roles or an expression"),
      h("input", { type: "text", id: `${prefix}-other`, value: other, onChange: (/** @type {Event} */ e) => saveGroups(known, inputValue(e)) }),
    ),
    h("datalist", { id: `${prefix}-users` }, ...users.map((u) => h("option", { value: u }))),
    h("div", { class: "fg-pp-field" },
      h("label", { for: `${prefix}-users-input` }, "Candidate users"),
      h("input", { type: "text", id: `${prefix}-users-input`, list: `${prefix}-users`, value: bo.get("flowgate:candidateUsers") || "",
        "aria-describedby": `${prefix}-users-help`, onChange: (/** @type {Event} */ e) => set("candidateUsers", inputValue(e).trim()) }),
      h(Help, { id: `${prefix}-users-help`, text: "Usernames, comma-separated (suggested from the users Flowgate knows)." }),
    ),
    h("div", { class: "fg-pp-field" },
      h("label", { for: `${prefix}-assignee` }, "Assignee"),
      h("input", { type: "text", id: `${prefix}-assignee`, list: `${prefix}-users`, value: bo.get("flowgate:assignee") || "",
        "aria-describedby": `${prefix}-assignee-help`, onChange: (/** @type {Event} */ e) => set("assignee", inputValue(e).trim()) }),
      h(Help, { id: `${prefix}-assignee-help`, text: "A username, or an expression such as ${requester}." }),
    ),
    h(DurationField, { id: `${prefix}-due`, label: "Due", value: bo.get("flowgate:dueDate"), onChange: (/** @type {string} */ v) => set("dueDate", v),
      help: "How long the task may take." }),
    h("div", { class: "fg-pp-field" },
      h("label", { for: `${prefix}-priority` }, "Priority"),
      h("select", { id: `${prefix}-priority`, value: bo.get("flowgate:priority") || "", onChange: (/** @type {Event} */ e) => set("priority", inputValue(e)) },
        h("option", { value: "" }, "Normal (not set)"),
        h("option", { value: "25" }, "Low (25)"),
        h("option", { value: "50" }, "Medium (50)"),
        h("option", { value: "75" }, "High (75)"),
        h("option", { value: "90" }, "Urgent (90)"),
        ...(["", "25", "50", "75", "90"].includes(bo.get("flowgate:priority") || "") ? [] : [h("option", { value: bo.get("flowgate:priority") }, bo.get("flowgate:priority"))]),
      ),
    ),
    h(DurationField, { id: `${prefix}-sla-warning`, label: "SLA warning after", value: bo.get("flowgate:slaWarning"),
      onChange: (/** @type {string} */ v) => set("slaWarning", v), help: "The task shows as at risk after this long.", business: true, calendar: taskCalendar }),
    h(DurationField, { id: `${prefix}-sla-breach`, label: "SLA breach after", value: bo.get("flowgate:slaBreach"),
      onChange: (/** @type {string} */ v) => set("slaBreach", v), help: "The task counts as late after this long.", business: true, calendar: taskCalendar }),
    h("div", { class: "fg-pp-field" },
      h("label", { for: `${prefix}-calendar` }, "Business calendar"),
      h("input", { type: "text", id: `${prefix}-calendar`, list: `${prefix}-calendars`, value: bo.get("flowgate:calendar") || "",
        "aria-describedby": `${prefix}-calendar-help`, onChange: (/** @type {Event} */ e) => set("calendar", inputValue(e).trim()) }),
      h("datalist", { id: `${prefix}-calendars` }, ...calendars.map((c) => h("option", { value: c }))),
      h(Help, { id: `${prefix}-calendar-help`, text: "Counts business hours and days of this task's SLA; empty: the process's calendar." }),
    ),
  );
}

// the values apps/inbox/model_rules.py reads as "four-eyes off"; anything else keeps it on
const FOUR_EYES_OFF = ["false", "no", "0", "off", "none"];

/** @param {{ element: FgElement }} props */
export function ApprovalEntry({ element }) {
  const set = useSetter(element);
  const bo = element.businessObject;
  const prefix = `fg-approval-${bo.id}`;
  const approval = Boolean(bo.get("flowgate:approval"));
  /** @param {string} attr @param {string} label @param {boolean} value @param {unknown} onValue */
  const check = (attr, label, value, onValue) =>
    h("label", { class: "fg-pp-check" },
      h("input", { type: "checkbox", name: attr, checked: value, disabled: attr !== "approval" && !approval,
        onChange: (/** @type {Event} */ e) => set(attr, inputChecked(e) ? onValue : undefined) }),
      ` ${label}`);
  return h("div", { class: "fg-pp" },
    check("approval", "This step approves or rejects", approval, true),
    h("div", { class: "fg-pp-field" },
      h("label", { for: `${prefix}-outcome` }, "Outcome variable"),
      h("input", { type: "text", id: `${prefix}-outcome`, value: bo.get("flowgate:outcomeVariable") || "", disabled: !approval,
        placeholder: "outcome", "aria-describedby": `${prefix}-outcome-help`, onChange: (/** @type {Event} */ e) => set("outcomeVariable", inputValue(e).trim()) }),
      h(Help, { id: `${prefix}-outcome-help`, text: "Holds \"approved\" or \"rejected\" for the gateway after this step (named approved: true or false, like the variable approved, which every approval sets)." }),
    ),
    check("rejectCommentRequired", "A comment is required to reject", (bo.get("flowgate:rejectCommentRequired") || false) === true, true),
    // On unless the model turns it off (as the inbox reads it): unticking writes "false".
    h("label", { class: "fg-pp-check" },
      h("input", { type: "checkbox", name: "fourEyes", checked: !FOUR_EYES_OFF.includes(String(bo.get("flowgate:fourEyes") ?? "").trim().toLowerCase()),
        disabled: !approval, onChange: (/** @type {Event} */ e) => set("fourEyes", inputChecked(e) ? "requester" : "false") }),
      " Four-eyes: the requester may not approve"),
    // Off by default: one person approves at one level of a request (docs/inbox.md).
    check("allowSameApprover", "Someone who approved another step of this request may decide this one too",
      (bo.get("flowgate:allowSameApprover") || false) === true, true),
  );
}
