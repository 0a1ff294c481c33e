// @ts-check
// Small fetch helpers shared by the designer and the forms bundle.

/** An answer of the API: its status and its JSON body (null when it had none).
 * @typedef {{ status: number, ok: boolean, body: any }} JsonResult */

/** The CSRF token: the csrftoken cookie, else <meta name="csrf-token">.
 * @returns {string} */
export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  if (match) return decodeURIComponent(match[1]);
  const meta = document.querySelector('meta[name="csrf-token"]');
  return (meta && meta.getAttribute("content")) || "";
}

/** POST a JSON body; resolves to {status, ok, body} where body is parsed JSON (or null).
 * @param {string} url
 * @param {unknown} payload
 * @returns {Promise<JsonResult>} */
export async function postJson(url, payload) {
  const response = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: {
      "Content-Type": "application/json",
      Accept: "application/json",
      "X-CSRFToken": csrfToken(),
      "X-Requested-With": "XMLHttpRequest",
    },
    body: JSON.stringify(payload),
  });
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  return { status: response.status, ok: response.ok, body };
}

/** A message a person can read from an error response body.
 * @param {{ status: number, body?: any }} result
 * @returns {string} */
export function errorMessage(result) {
  const body = result.body || {};
  return (
    body.message ||
    body.detail ||
    (typeof body.error === "string" && body.error) ||
    `The server answered ${result.status}. Please try again.`
  );
}

/** PUT/DELETE (or any method) with an optional JSON body; same result shape as postJson.
 * @param {string} url
 * @param {string} method
 * @param {unknown} [payload]
 * @returns {Promise<JsonResult>} */
export async function sendJson(url, method, payload) {
  const response = await fetch(url, {
    method,
    credentials: "same-origin",
    headers: {
      "Content-Type": "application/json",
      Accept: "application/json",
      "X-CSRFToken": csrfToken(),
      "X-Requested-With": "XMLHttpRequest",
    },
    body: payload === undefined ? undefined : JSON.stringify(payload),
  });
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  return { status: response.status, ok: response.ok, body };
}
