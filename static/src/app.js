import "bootstrap/dist/js/bootstrap.bundle.min.js";
import htmx from "htmx.org";

window.htmx = htmx;
// Follow the OS colour scheme (Bootstrap's data-bs-theme).
const dark = window.matchMedia("(prefers-color-scheme: dark)");
const applyTheme = () =>
  document.documentElement.setAttribute("data-bs-theme", dark.matches ? "dark" : "light");
applyTheme();
dark.addEventListener("change", applyTheme);
