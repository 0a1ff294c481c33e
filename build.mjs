// Bundles static/src into static/dist (generated, git-ignored). Stable names, no hashes:
// in production whitenoise's manifest storage adds the content hashes at collectstatic time.
//
//   app.js / app.css            every page: Bootstrap 5, htmx, live updates (static/src/live.js)
//   designer.js / designer.css  designer pages only: bpmn-js modeler + Flowgate panel
//   forms.js / forms.css        task pages only: form-js viewer
//   form-editor.js / .css       form-js editor, loaded on demand by the designer
//   reports.js                  report pages: Chart.js charts
//   reports-heatmap.js / .css   bottleneck heatmap: bpmn-js NavigatedViewer
//   inbox-start.js              the request catalog's start form (form-js viewer)
//   inbox-diagram.js / .css     read-only diagram with progress (task and request pages)
//   decision-editor.js / .css   the DMN decision editor: dmn-js Modeler
import { build } from "esbuild";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";

const outdir = "static/dist";

// CodeMirror (the FEEL fields of form-js's and bpmn-js's properties panels) writes its styles
// into a <style> element through style-mod, which the portal's CSP (style-src 'self', no inline
// style element) refuses. style-mod already puts them in a constructed stylesheet
// (document.adoptedStyleSheets, CSSOM, not governed by style-src) for shadow roots; this makes
// it do that for the document too. The build fails if style-mod's source no longer matches.
const STYLE_MOD_TAG_BRANCH = "if (!root.head && root.adoptedStyleSheets && win.CSSStyleSheet) {";
const adoptedStyleSheets = {
  name: "style-mod-adopted-stylesheets",
  setup(build) {
    build.onLoad({ filter: /[\\/]style-mod[\\/]src[\\/]style-mod\.js$/ }, (args) => {
      const source = readFileSync(args.path, "utf8");
      if (!source.includes(STYLE_MOD_TAG_BRANCH)) {
        throw new Error(`${args.path}: style-mod changed; re-check the CSP patch in build.mjs`);
      }
      return {
        contents: source.replace(STYLE_MOD_TAG_BRANCH, "if (root.adoptedStyleSheets && win.CSSStyleSheet) {"),
        loader: "js",
      };
    });
  },
};
mkdirSync(outdir, { recursive: true });

const common = {
  bundle: true,
  minify: true,
  outdir,
  logLevel: "warning",
  target: ["es2020", "chrome100", "firefox100", "safari15"],
  legalComments: "linked",
  loader: {
    ".woff": "file",
    ".woff2": "file",
    ".eot": "file",
    ".ttf": "file",
    ".svg": "dataurl",
    ".bpmn": "text",
  },
  assetNames: "assets/[name]",
};

await build({
  ...common,
  entryPoints: {
    app: "static/src/app.js",
    designer: "static/src/designer/index.js",
    forms: "static/src/forms/index.js",
    "form-editor": "static/src/forms/editor.js",
    reports: "static/src/reports/index.js",
    "reports-heatmap": "static/src/reports/heatmap.js",
    "inbox-start": "static/src/inbox-start.js",
    "inbox-diagram": "static/src/inbox-diagram.js",
    "decision-editor": "static/src/decisions/editor.js",
  },
  format: "iife",
  sourcemap: true,
  plugins: [adoptedStyleSheets],
  define: { "process.env.NODE_ENV": '"production"' },
});
await build({
  ...common,
  entryPoints: {
    app: "static/src/app.css",
    designer: "static/src/designer/designer.css",
    forms: "static/src/forms/forms.css",
    "form-editor": "static/src/forms/editor.css",
    "reports-heatmap": "static/src/reports/heatmap.css",
    "inbox-diagram": "static/src/inbox.css",
    "decision-editor": "static/src/decisions/editor.css",
  },
});
writeFileSync(`${outdir}/.built`, new Date().toISOString());
