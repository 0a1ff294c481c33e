// Bundles static/src into static/dist (generated, not committed).
import { build } from "esbuild";
import { mkdirSync, writeFileSync } from "node:fs";

mkdirSync("static/dist", { recursive: true });
await build({
  entryPoints: { app: "static/src/app.js" },
  bundle: true,
  minify: true,
  sourcemap: true,
  outdir: "static/dist",
  loader: { ".woff": "file", ".woff2": "file" },
  logLevel: "warning",
});
await build({
  entryPoints: { app: "static/src/app.css" },
  bundle: true,
  minify: true,
  outdir: "static/dist",
  loader: { ".woff": "file", ".woff2": "file", ".svg": "dataurl" },
  logLevel: "warning",
});
writeFileSync("static/dist/.built", new Date().toISOString());
