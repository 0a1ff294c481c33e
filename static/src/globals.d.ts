// What our bundles put on `window` and on elements (type checking only: `make lint` runs tsc).
export {};

declare global {
  interface Window {
    /** htmx, set by app.js for the server-rendered pages. */
    htmx?: { trigger(el: Element, event: string, detail?: unknown): void };
  }
}
