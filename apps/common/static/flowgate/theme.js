// Follow the OS colour scheme before the first paint (app.js keeps following it). A file, not an
// inline snippet, so the Content-Security-Policy can stay script-src 'self' (docs/security.md).
document.documentElement.setAttribute(
  "data-bs-theme",
  window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light",
);
