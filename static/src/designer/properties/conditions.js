// @ts-check
// The condition builder's model: rows of variable / operator / value joined by one "and" or
// "or", written as (and read back from) Flowgate expressions such as
//   amount > 1000 and region == 'EU'
// Anything the rows cannot express exactly stays a raw expression. The server's evaluator
// (apps/engine/core/expressions.py) is the authority: it checks every condition again.

/** One row of the builder: ``variable operator value``.
 * @typedef {{ variable?: string, operator?: string, value?: unknown }} Row */
/** The builder's model: its rows joined by one "and" or "or".
 * @typedef {{ join?: string, rows?: Row[] }} Condition */

/** @type {{ value: string, label: string }[]} */
export const OPERATORS = [
  { value: "==", label: "equals" },
  { value: "!=", label: "does not equal" },
  { value: ">", label: "is greater than" },
  { value: ">=", label: "is at least" },
  { value: "<", label: "is less than" },
  { value: "<=", label: "is at most" },
  { value: "contains", label: "contains" },
  { value: "not contains", label: "does not contain" },
];

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const NUMBER = /^-?\d+(\.\d+)?$/;
const COMPARISON = /^([A-Za-z_][A-Za-z0-9_]*)\s*(==|!=|>=|<=|>|<)\s*(.+)$/s;
const CONTAINS = /^(not\s+)?contains\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*,\s*(.+)\)$/s;
const KEYWORDS = new Set(["and", "or", "not", "in", "is", "True", "False", "None"]);

/** The expression text of a value typed in the builder: numbers, true/false and null as such,
 * text quoted; a value the person quoted stays as typed (so '1000' stays text).
 * @param {unknown} value
 * @returns {string} */
export function literal(value) {
  const text = String(value ?? "").trim();
  if (NUMBER.test(text)) return text;
  if (/^true$/i.test(text)) return "True";
  if (/^false$/i.test(text)) return "False";
  if (/^(null|none)$/i.test(text)) return "None";
  if (/^'([^'\\]|\\.)*'$/.test(text) || /^"([^"\\]|\\.)*"$/.test(text)) return text;
  return `'${text.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
}

/** The builder's text for an expression literal, or null when it is not a plain literal.
 * @param {string} source
 * @returns {string | null} */
export function readLiteral(source) {
  const text = source.trim();
  if (NUMBER.test(text)) return text;
  if (text === "True" || text === "true") return "true";
  if (text === "False" || text === "false") return "false";
  if (text === "None" || text === "null") return "null";
  const quoted = /^'((?:[^'\\]|\\.)*)'$/.exec(text) || /^"((?:[^"\\]|\\.)*)"$/.exec(text);
  if (!quoted) return null;
  const inner = quoted[1].replace(/\\(.)/g, "$1");
  // Text that would read back as a number or boolean keeps its quotes.
  return literal(inner) === `'${inner.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`
    ? inner
    : text;
}

/** A row is part of the condition once it names a variable and a value (text '' must be
 * typed as '' to compare with empty text); an incomplete row is left out, never saved.
 * @param {Row} row
 * @returns {boolean} */
export function isComplete({ variable, value }) {
  return IDENT.test((variable || "").trim()) && String(value ?? "").trim() !== "";
}

/** One row's expression text, or null when the row is incomplete.
 * @param {Row} row
 * @returns {string | null} */
export function rowToExpression({ variable, operator, value }) {
  const name = (variable || "").trim();
  if (!isComplete({ variable, value })) return null;
  if (operator === "contains") return `contains(${name}, ${literal(value)})`;
  if (operator === "not contains") return `not contains(${name}, ${literal(value)})`;
  return `${name} ${operator || "=="} ${literal(value)}`;
}

/** Rows (complete ones only) -> expression text ("" when no row is complete).
 * @param {Condition} condition
 * @returns {string} */
export function toExpression({ join = "and", rows = [] }) {
  return rows
    .map(rowToExpression)
    .filter(Boolean)
    .join(` ${join} `);
}

/** Split at top-level " and " / " or " (outside quotes and brackets): [parts, joins].
 * @param {string} text
 * @returns {{ parts: string[], joins: string[] } | null} */
function splitTopLevel(text) {
  /** @type {string[]} */
  const parts = [];
  /** @type {string[]} */
  const joins = [];
  let depth = 0;
  /** @type {string | null} */
  let quote = null;
  let start = 0;
  for (let i = 0; i < text.length; i += 1) {
    const ch = text[i];
    if (quote) {
      if (ch === "\\") i += 1;
      else if (ch === quote) quote = null;
      continue;
    }
    if (ch === "'" || ch === '"') quote = ch;
    else if ("([{".includes(ch)) depth += 1;
    else if (")]}".includes(ch)) depth -= 1;
    else if (depth === 0 && /\s/.test(ch)) {
      const match = /^\s+(and|or)\s+/.exec(text.slice(i));
      if (match) {
        parts.push(text.slice(start, i));
        joins.push(match[1]);
        i += match[0].length - 1;
        start = i + 1;
      }
    }
  }
  if (quote || depth !== 0) return null;
  parts.push(text.slice(start));
  return { parts, joins };
}

/** @param {string} text @returns {Row | null} */
function parseRow(text) {
  const source = text.trim();
  const contains = CONTAINS.exec(source);
  if (contains) {
    const value = readLiteral(contains[3]);
    if (value === null) return null;
    return { variable: contains[2], operator: contains[1] ? "not contains" : "contains", value };
  }
  const comparison = COMPARISON.exec(source);
  if (!comparison || KEYWORDS.has(comparison[1])) return null;
  const value = readLiteral(comparison[3]);
  if (value === null) return null;
  return { variable: comparison[1], operator: comparison[2], value };
}

/** {join, rows} when the builder can show ``expression`` exactly, else null ("" -> no rows).
 * @param {string | null | undefined} expression
 * @returns {{ join: string, rows: Row[] } | null} */
export function parseExpression(expression) {
  const text = (expression || "").trim();
  if (!text) return { join: "and", rows: [] };
  const split = splitTopLevel(text);
  if (!split) return null;
  const joins = new Set(split.joins);
  if (joins.size > 1) return null; // mixed and/or: precedence the rows cannot show
  const rows = split.parts.map(parseRow);
  if (rows.some((row) => row === null)) return null;
  return { join: split.joins[0] || "and", rows: /** @type {Row[]} */ (rows) };
}

/** A label for a flow from its condition, shortened for the canvas and lists.
 * @param {string | null | undefined} text
 * @param {number} [max]
 * @returns {string} */
export function shorten(text, max = 40) {
  const clean = (text || "").replace(/\s+/g, " ").trim();
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}
