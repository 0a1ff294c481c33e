// @ts-check
// ISO-8601 durations, dates and cycles <-> the pickers, and their plain-language preview.

/** @typedef {{ value: string, label: string, iso: (n: number) => string }} Unit */

/** @type {Unit[]} */
export const UNITS = [
  { value: "M", label: "minutes", iso: (n) => `PT${n}M` },
  { value: "H", label: "hours", iso: (n) => `PT${n}H` },
  { value: "D", label: "days", iso: (n) => `P${n}D` },
  { value: "W", label: "weeks", iso: (n) => `P${n}W` },
];

// Business time for SLA fields ("4 business hours", "2 business days"): counted by the task's
// calendar on the server (apps/engine/core/business_time.py; docs/calendars.md).
/** @type {Unit[]} */
export const BUSINESS_UNITS = [
  { value: "BH", label: "business hours", iso: (n) => `${n} business hour${n === 1 ? "" : "s"}` },
  { value: "BD", label: "business days", iso: (n) => `${n} business day${n === 1 ? "" : "s"}` },
];

/** {amount, unit} for "N business hours/days", else null.
 * @param {string | null | undefined} text
 * @returns {{ amount: number, unit: string } | null} */
export function readBusiness(text) {
  const m = /^\s*(\d+)\s+business\s+(hour|day)s?\s*$/i.exec(text || "");
  if (!m) return null;
  return { amount: Number(m[1]), unit: m[2].toLowerCase() === "hour" ? "BH" : "BD" };
}

/** {amount, unit} for a simple duration (PT15M, PT8H, P1D, P2W), else null.
 * @param {string | null | undefined} text
 * @returns {{ amount: number, unit: string } | null} */
export function readDuration(text) {
  const value = (text || "").trim().toUpperCase();
  let m = /^PT(\d+)([MH])$/.exec(value);
  if (m) return { amount: Number(m[1]), unit: m[2] };
  m = /^P(\d+)([DW])$/.exec(value);
  if (m) return { amount: Number(m[1]), unit: m[2] };
  return null;
}

/** The ISO duration (or business time) of a picker's amount and unit; "" for no whole amount.
 * @param {number | string} amount
 * @param {string} unit one of the UNITS' or BUSINESS_UNITS' values
 * @returns {string} */
export function writeDuration(amount, unit) {
  const n = Number(amount);
  if (!Number.isInteger(n) || n < 1) return "";
  const found = [...UNITS, ...BUSINESS_UNITS].find((u) => u.value === unit);
  return found ? found.iso(n) : "";
}

/** @type {(n: number, word: string) => string} */
const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
/** @type {Record<string, string>} */
const WORDS = { Y: "year", M: "month", W: "week", D: "day", H: "hour", S: "second" };

/** "1 day", "2 hours 30 minutes" for an ISO duration; null when it is not one.
 * @param {string | null | undefined} text
 * @returns {string | null} */
export function durationText(text) {
  const m = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec((text || "").trim().toUpperCase());
  if (!m || !m.slice(1).some(Boolean)) return null;
  const [, y, mo, w, d, h, mi, s] = m;
  const parts = [];
  if (y) parts.push(plural(Number(y), WORDS.Y));
  if (mo) parts.push(plural(Number(mo), WORDS.M));
  if (w) parts.push(plural(Number(w), WORDS.W));
  if (d) parts.push(plural(Number(d), WORDS.D));
  if (h) parts.push(plural(Number(h), WORDS.H));
  if (mi) parts.push(plural(Number(mi), "minute"));
  if (s) parts.push(plural(Number(s), WORDS.S));
  return parts.join(" ");
}

const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
/** @type {(n: string | number) => string} */
const pad = (n) => String(n).padStart(2, "0");

/** @param {string} cron @returns {string | null} */
function cronText(cron) {
  const parts = cron.trim().split(/\s+/);
  if (parts.length !== 5) return null;
  const [minute, hour, dom, month, dow] = parts;
  if (!/^\d+$/.test(minute) || !/^\d+$/.test(hour)) {
    if (minute === "*/5" || /^\*\/\d+$/.test(minute)) return `every ${minute.slice(2)} minutes`;
    return null;
  }
  const at = `${pad(hour)}:${pad(minute)}`;
  if (dom === "*" && month === "*") {
    if (dow === "*") return `every day at ${at}`;
    if (dow === "1-5" || dow === "MON-FRI") return `every weekday at ${at}`;
    const days = dow.split(",").map((d) => DAYS[Number(d) % 7]);
    if (days.every(Boolean)) return `every ${days.join(" and ")} at ${at}`;
  }
  if (/^\d+$/.test(dom) && month === "*" && dow === "*") return `on day ${dom} of every month at ${at}`;
  return null;
}

/** A person-readable preview of a timer value.
 * @param {"duration" | "date" | "cycle"} kind
 * @param {string | null | undefined} value
 * @returns {string | null} */
export function timerPreview(kind, value) {
  const text = (value || "").trim();
  if (!text) return "not set yet";
  const expression = () =>
    /^\$\{.*\}$/.test(text) || /^[A-Za-z_]\w*$/.test(text)
      ? `when the expression ${text} says (evaluated when the timer starts)`
      : null;
  if (kind === "duration") {
    const d = durationText(text);
    return d ? `${d} after it is reached` : expression();
  }
  if (kind === "date") {
    const date = /^\d{4}-\d{2}-\d{2}/.test(text) ? new Date(text) : new Date(NaN);
    if (Number.isNaN(date.getTime())) return expression();
    return `on ${date.toISOString().replace("T", " ").slice(0, 16)} UTC`;
  }
  if (expression()) return expression();
  const repeat = /^R(\d*)\/(?:([^/]+)\/)?(P[^/]+)$/.exec(text);
  if (repeat) {
    const every = durationText(repeat[3]);
    if (!every) return null;
    const times = repeat[1] ? `, ${plural(Number(repeat[1]), "time")}` : "";
    const from = repeat[2] ? ` from ${repeat[2]}` : "";
    return `every ${every.replace(/^1 /, "")}${from}${times}`;
  }
  return cronText(text);
}
