// Live updates: an element with data-live-url="/ws/..." gets a websocket. Every message
// triggers the htmx event "live-update" on the element (so markup says
// hx-get="..." hx-trigger="live-update"). After a reconnect the element is refreshed once as
// well, because messages sent while the socket was down are lost: the server is the truth.
const MIN_DELAY_MS = 500;
const MAX_DELAY_MS = 30000;

function socketUrl(url) {
  const resolved = new URL(url, window.location.href);
  if (resolved.protocol === "http:") resolved.protocol = "ws:";
  if (resolved.protocol === "https:") resolved.protocol = "wss:";
  return resolved.toString();
}

function fire(el, detail) {
  if (window.htmx) window.htmx.trigger(el, "live-update", detail);
  else el.dispatchEvent(new CustomEvent("live-update", { detail, bubbles: true }));
}

/** Connect one element; returns {close()}. Safe to call twice (the second call is a no-op). */
export function connectLive(el) {
  if (el._flowgateLive) return el._flowgateLive;
  let socket = null;
  let attempts = 0;
  let everOpened = false;
  let closed = false;
  let timer = null;

  const open = () => {
    if (closed) return;
    if (!el.isConnected) {
      handle.close();
      return;
    }
    socket = new WebSocket(socketUrl(el.dataset.liveUrl));
    socket.addEventListener("open", () => {
      attempts = 0;
      el.dataset.liveState = "open";
      if (everOpened) fire(el, { reason: "reconnect" });
      everOpened = true;
      el.dispatchEvent(new CustomEvent("live:open", { bubbles: true }));
    });
    socket.addEventListener("message", (event) => {
      let data = event.data;
      try {
        data = JSON.parse(event.data);
      } catch {
        /* plain-text message: pass it on as is */
      }
      fire(el, { reason: "message", data });
    });
    socket.addEventListener("close", () => {
      el.dataset.liveState = "closed";
      if (closed) return;
      // Exponential backoff with full jitter, capped.
      const ceiling = Math.min(MAX_DELAY_MS, MIN_DELAY_MS * 2 ** attempts);
      attempts += 1;
      timer = window.setTimeout(open, Math.max(MIN_DELAY_MS / 2, Math.random() * ceiling));
    });
  };

  const handle = {
    close() {
      closed = true;
      window.clearTimeout(timer);
      if (socket && socket.readyState <= 1) socket.close();
      delete el._flowgateLive;
    },
  };
  el._flowgateLive = handle;
  open();
  return handle;
}

/** Connect every [data-live-url] element inside root (root included). */
export function initLive(root) {
  if (!root || !root.querySelectorAll) return;
  const found = [...root.querySelectorAll("[data-live-url]")];
  if (root.matches && root.matches("[data-live-url]")) found.push(root);
  found.forEach(connectLive);
}

// Elements removed by htmx close their socket.
document.addEventListener("htmx:beforeCleanupElement", (event) => {
  const el = event.target;
  if (el && el._flowgateLive) el._flowgateLive.close();
});
