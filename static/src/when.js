// @ts-check
// Times on people's pages, one way: in the reader's time zone and locale, in the same numeric
// form as the browser's date-time inputs (e.g. 01/31/2026, 09:00 AM in en-US, 31.01.2026, 09:00
// in de-DE). The server renders <time datetime="<ISO>" data-fg-when>YYYY-MM-DD HH:MM</time> in
// the reader's zone (apps/common/timezones.py reads the fg_tz cookie set here), so the page
// reads right before and without this script too.

const COOKIE = "fg_tz";

/** The browser's IANA time zone ("" when it does not say).
 * @returns {string} */
export function browserTimeZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch {
    return "";
  }
}

/** Tell the server the browser's time zone (a cookie the next request carries). */
export function rememberTimeZone() {
  const zone = browserTimeZone();
  // IANA names ("America/New_York", "Etc/GMT+5") are cookie-safe as they are
  if (!zone || !/^[A-Za-z0-9_+\-/]{1,64}$/.test(zone)) return;
  const current = document.cookie.split("; ").find((c) => c.startsWith(`${COOKIE}=`));
  if (current && current.slice(COOKIE.length + 1) === zone) return;
  document.cookie = `${COOKIE}=${zone}; path=/; max-age=31536000; SameSite=Lax`;
}

/** @type {Intl.DateTimeFormatOptions} */
const FORMAT = {
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
};

/** Rewrite every <time data-fg-when> under ``root`` in the reader's locale and zone.
 * @param {ParentNode} root
 * @returns {void} */
export function localizeTimes(root) {
  const format = new Intl.DateTimeFormat(undefined, FORMAT);
  const zone = browserTimeZone();
  const nodes = root.querySelectorAll
    ? /** @type {HTMLTimeElement[]} */ ([...root.querySelectorAll("time[data-fg-when]")])
    : [];
  nodes.forEach((node) => {
    const when = new Date(node.getAttribute("datetime") || "");
    if (Number.isNaN(when.getTime())) return;
    node.textContent = format.format(when);
    if (zone) node.title = zone;
  });
}
