// The decision editor (/designer/decisions/new/, /designer/decisions/<key>/edit/): dmn-js on
// #decision-canvas. The server is the authority: *Check* posts the file to the validate API
// (problems name the decision, rule and column; warnings: overlapping UNIQUE rules, uncovered
// input ranges), *Deploy* to the deploy API, *Try it* to the evaluate API (dry run: nothing
// recorded) and highlights the matched rules in the table. DOM contract:
//   #decision-editor  data-key, data-validate-url, data-deploy-url, data-evaluate-url,
//                     data-decision-url; data-editor-state = loading | ready | failed
//   #decision-xml     (json_script) the file to open
//   [data-decision-action="check|deploy|try"]
// window.FlowgateDecisionEditor = {modeler, getXml()} for tests and the console.
import DmnModeler from "dmn-js/lib/Modeler";
import { errorMessage, postJson } from "../designer/api.js";

const root = document.getElementById("decision-editor");
const results = document.getElementById("decision-results");
const tryResult = document.getElementById("decision-try-result");

function element(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (text) node.textContent = text;
  return node;
}

function show(target, kind, title, items = []) {
  target.replaceChildren();
  const box = element("div", { class: `alert alert-${kind} mb-0 fg-decision-results` });
  box.append(element("p", { class: "mb-1 fw-semibold" }, title));
  if (items.length) {
    const list = element("ul", { class: "mb-0 small" });
    for (const item of items) list.append(item);
    box.append(list);
  }
  target.append(box);
}

function problemItems(problems, css) {
  return problems.map((p) => element("li", { class: css, "data-code": p.code || "" }, p.message));
}

async function currentXml(modeler) {
  const { xml } = await modeler.saveXML({ format: true });
  return xml;
}

async function openDecision(modeler, key) {
  const view = modeler
    .getViews()
    .find((v) => v.element && v.element.id === key && v.type !== "drd");
  if (view) await modeler.open(view);
}

async function check(modeler) {
  const answer = await postJson(root.dataset.validateUrl, { xml: await currentXml(modeler) });
  if (!answer.ok) {
    show(results, "danger", errorMessage(answer), problemItems((answer.body || {}).details || [], "fg-problem"));
    return;
  }
  const { problems = [], warnings = [] } = answer.body;
  const items = [...problemItems(problems, "fg-problem"), ...problemItems(warnings, "fg-warning")];
  if (problems.length) {
    show(results, "danger", `${problems.length} problem(s): this file does not deploy.`, items);
  } else if (warnings.length) {
    show(results, "warning", `It deploys, with ${warnings.length} warning(s).`, items);
  } else {
    show(results, "success", "No problems: it deploys.");
  }
}

async function deploy(modeler) {
  const comment = document.getElementById("decision-comment").value;
  const answer = await postJson(root.dataset.deployUrl, { xml: await currentXml(modeler), comment });
  if (!answer.ok) {
    show(results, "danger", errorMessage(answer), problemItems((answer.body || {}).details || [], "fg-problem"));
    return;
  }
  const mine = (answer.body.decisions || []).find((d) => d.key === root.dataset.key);
  const warnings = problemItems(answer.body.warnings || [], "fg-warning");
  if (answer.status === 200) {
    show(results, "info", "Unchanged: the latest version already is this file.", warnings);
    return;
  }
  if (!mine) {
    // the decision's id was changed in the editor: another key's version line
    const names = (answer.body.decisions || []).map((d) => `${d.key} version ${d.number}`).join(", ");
    show(results, "warning", `Deployed ${names}; this file no longer has the decision ${root.dataset.key}.`, warnings);
    return;
  }
  const number = mine.number;
  show(results, warnings.length ? "warning" : "success", `Deployed ${root.dataset.key} version ${number}.`, warnings);
  const history = document.getElementById("decision-versions");
  history.querySelector(".fg-no-versions")?.remove();
  const item = element("li", { "data-version": String(number) });
  item.append(element("a", { href: `${root.dataset.decisionUrl}v${number}/` }, `v${number}`));
  item.append(document.createTextNode(` · just now${comment ? ` — “${comment}”` : ""}`));
  history.prepend(item);
  document.querySelector('[data-decision-action="try"]').removeAttribute("data-needs-deploy");
}

function highlight(ruleIds) {
  for (const cell of root.querySelectorAll("td.fg-rule-matched")) cell.classList.remove("fg-rule-matched");
  for (const id of ruleIds) {
    for (const cell of root.querySelectorAll(`td[data-row-id="${CSS.escape(id)}"]`)) {
      cell.classList.add("fg-rule-matched");
    }
  }
}

async function tryIt() {
  let variables;
  try {
    variables = JSON.parse(document.getElementById("decision-try-variables").value || "{}");
  } catch (exc) {
    show(tryResult, "danger", `This is not JSON: ${exc.message}`);
    return;
  }
  if (variables === null || typeof variables !== "object" || Array.isArray(variables)) {
    show(tryResult, "danger", 'Give the variables as a JSON object: {"amount": 500}.');
    return;
  }
  const answer = await postJson(root.dataset.evaluateUrl, { variables, dry_run: true });
  if (!answer.ok) {
    highlight([]);
    show(tryResult, "danger", errorMessage(answer));
    return;
  }
  const matched = answer.body.matched_rules || [];
  highlight(matched.map((r) => r.id));
  const version = answer.body.decision.version;
  const title = matched.length
    ? `Matched rule ${matched.map((r) => r.index).join(", ")} of version ${version} (highlighted).`
    : `No rule matched (version ${version}).`;
  show(tryResult, "success", title, [
    element("li", {}, `Result: ${JSON.stringify(answer.body.result)}`),
  ]);
}

async function main() {
  const modeler = new DmnModeler({ container: "#decision-canvas" });
  window.FlowgateDecisionEditor = { modeler, getXml: () => currentXml(modeler) };
  const xml = JSON.parse(document.getElementById("decision-xml").textContent);
  try {
    await modeler.importXML(xml);
    await openDecision(modeler, root.dataset.key);
  } catch (exc) {
    root.dataset.editorState = "failed";
    show(results, "danger", `This file cannot be opened in the editor (dmn-js reads DMN 1.3): ${exc.message}`);
    return;
  }
  const actions = { check: () => check(modeler), deploy: () => deploy(modeler), try: tryIt };
  root.parentElement.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-decision-action]");
    if (!button) return;
    button.disabled = true;
    try {
      await actions[button.dataset.decisionAction]();
    } catch (exc) {
      show(results, "danger", `Something went wrong: ${exc.message}`);
    } finally {
      button.disabled = false;
    }
  });
  root.dataset.editorState = "ready";
}

main();
