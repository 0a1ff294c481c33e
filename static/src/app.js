// Every page: Bootstrap's behaviours, htmx, OS-following colour scheme and live updates.
import "bootstrap/dist/js/bootstrap.bundle.min.js";
import htmx from "htmx.org";
import { connectLive, initLive } from "./live.js";
import { localizeTimes, rememberTimeZone } from "./when.js";

window.htmx = htmx;
window.Flowgate = Object.assign(window.Flowgate || {}, { connectLive });

// Follow the OS colour scheme (Bootstrap's data-bs-theme). Also set early by an inline
// snippet in base.html so there is no light flash before this bundle runs.
const dark = window.matchMedia("(prefers-color-scheme: dark)");
const applyTheme = () =>
  document.documentElement.setAttribute("data-bs-theme", dark.matches ? "dark" : "light");
applyTheme();
dark.addEventListener("change", applyTheme);

rememberTimeZone();
const ready = () => {
  initLive(document);
  localizeTimes(document);
};
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", ready);
} else {
  ready();
}
// Content swapped in by htmx may carry its own data-live-url elements and times.
document.addEventListener("htmx:load", (event) => {
  initLive(event.target);
  localizeTimes(event.target);
});

// A form marked data-fg-once submits once: a double click sends one POST (the server refuses a
// second one anyway, with a message, but the person should see the first answer).
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-fg-once")) return;
  if (form.dataset.fgSent) {
    event.preventDefault();
    return;
  }
  form.dataset.fgSent = "1";
  for (const button of form.querySelectorAll("button[type=submit]")) button.disabled = true;
});
