// @ts-check
// Server-side validation errors on form-js fields (task forms and start forms).
// The server answers 400 with details [{"field": <field key>, "message"}] (or {key: [messages]}).

/** Server details -> [field key or null, message] pairs.
 * @param {unknown} details
 * @returns {[string | null, string][]} */
function detailPairs(details) {
  if (!details) return [];
  if (Array.isArray(details)) {
    return details.map((d) =>
      typeof d === "string" ? [null, d] : [d.field || d.element_id || null, d.message || ""],
    );
  }
  if (typeof details === "object") {
    return Object.entries(details).map(([key, value]) => /** @type {[string, string]} */ ([
      key,
      Array.isArray(value) ? value.join(" ") : String(value),
    ]));
  }
  return [[null, String(details)]];
}

/**
 * Put the server's per-field errors on the form-js fields. form-js keeps its error state keyed
 * by field id (what its own validation shows under each field); our server speaks field keys.
 * Returns the messages that belong to no field of this form.
 * @param {any} form a form-js Form
 * @param {unknown} details
 * @returns {{ marked: number, rest: string[] }}
 */
export function showFieldErrors(form, details) {
  /** @type {Map<string, string>} */
  const byKey = new Map();
  for (const field of form.get("formFieldRegistry").getAll()) {
    if (field.key) byKey.set(field.key, field.id);
  }
  /** @type {Record<string, string[]>} */
  const errors = {};
  /** @type {string[]} */
  const rest = [];
  for (const [key, message] of detailPairs(details)) {
    const id = key && byKey.get(key);
    if (id) {
      errors[id] = errors[id] || [];
      errors[id].push(message);
    }
    else rest.push(key ? `${key}: ${message}` : message);
  }
  form._setState({ errors });
  return { marked: Object.keys(errors).length, rest };
}
