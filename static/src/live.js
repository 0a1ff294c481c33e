// @ts-check
// Live updates: an element with data-live-url="/ws/..." gets a websocket. Every message
// triggers the htmx event "live-update" on the element (so markup says
// hx-get="..." hx-trigger="live-update"). After a reconnect the element is refreshed once as
// well, because messages sent while the socket was down are lost: the server is the truth.
//
// An element with data-live-feed="/api/v1/tasks/events/" data-live-since="<event id>" also
// polls that feed of committed changes ("events since N"): every second while no websocket is
// open (the embedded mode, whose web process cannot hear the worker), every 15 s as a safety net
// while one is, and at once on every websocket message. New events fire "live-update" too.
//
// Event ids are given out when a change is written but become visible when it commits, so on
// PostgreSQL event 10 may commit after event 11: a feed that has moved past 11 never returns 10.
// The doorbell for 10 is rung after its commit and carries its id, so a doorbell for an event
// at or below the feed's position that the feed never delivered fires "live-update" itself.
const FEED_FAST_MS = 1000;
const FEED_SLOW_MS = 15000;
const MIN_DELAY_MS = 500;
const MAX_DELAY_MS = 30000;
const SEEN_MAX = 500;

/** @typedef {{ close(): void }} LiveHandle */
/** @typedef {{ poll(): Promise<void>, close(): void }} FeedHandle */
/** An element with data-live-url / data-live-feed, and the handles connected to it.
 * @typedef {HTMLElement & { _flowgateLive?: LiveHandle, _flowgateFeed?: FeedHandle }} LiveElement */

/** @param {string} url @returns {string} */
function socketUrl(url) {
  const resolved = new URL(url, window.location.href);
  if (resolved.protocol === "http:") resolved.protocol = "ws:";
  if (resolved.protocol === "https:") resolved.protocol = "wss:";
  return resolved.toString();
}

/** @param {Element} el @param {object} detail */
function fire(el, detail) {
  if (window.htmx) window.htmx.trigger(el, "live-update", detail);
  else el.dispatchEvent(new CustomEvent("live-update", { detail, bubbles: true }));
}

/** Connect one element; returns {close()}. Safe to call twice (the second call is a no-op).
 * @param {LiveElement} el
 * @returns {LiveHandle} */
export function connectLive(el) {
  if (el._flowgateLive) return el._flowgateLive;
  /** @type {WebSocket | null} */
  let socket = null;
  let attempts = 0;
  let everOpened = false;
  let closed = false;
  /** @type {number | undefined} */
  let timer;

  const open = () => {
    if (closed) return;
    if (!el.isConnected) {
      handle.close();
      return;
    }
    socket = new WebSocket(socketUrl(el.dataset.liveUrl || ""));
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
      if (el.dataset.liveFeed) el.dispatchEvent(new CustomEvent("live:message", { detail: data }));
      else fire(el, { reason: "message", data });
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

/** Poll an element's data-live-feed; returns {poll(), close()}.
 * @param {LiveElement} el
 * @returns {FeedHandle} */
export function connectFeed(el) {
  if (el._flowgateFeed) return el._flowgateFeed;
  let since = Number(el.dataset.liveSince || 0);
  /** @type {Set<number>} */
  const delivered = new Set(); // event ids the feed has returned (the latest SEEN_MAX)
  /** @type {number | undefined} */
  let timer;
  let closed = false;
  let busy = false;
  // A doorbell that rang while a poll was in flight: that poll may have read before the event
  // committed, so one more poll follows it at once instead of waiting for the slow timer.
  let again = false;
  const schedule = () => {
    window.clearTimeout(timer);
    if (closed) return;
    const socketOpen = el.dataset.liveState === "open";
    timer = window.setTimeout(poll, socketOpen ? FEED_SLOW_MS : FEED_FAST_MS);
  };
  async function poll() {
    if (busy) again = true;
    if (closed || busy) return;
    if (!el.isConnected) {
      handle.close();
      return;
    }
    busy = true;
    try {
      const response = await fetch(`${el.dataset.liveFeed}?since=${since}`, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (response.ok) {
        const body = await response.json();
        since = body.last;
        el.dataset.liveSince = String(since);
        /** @type {{ id: number }[]} */
        const events = body.events || [];
        events.forEach((event) => delivered.add(event.id));
        while (delivered.size > SEEN_MAX) delivered.delete(/** @type {number} */ (delivered.values().next().value));
        if (events.length) fire(el, { reason: "feed", events });
      }
    } catch {
      /* offline: try again later; the next answer catches up from `since` */
    } finally {
      busy = false;
      if (again && !closed) {
        again = false;
        poll();
      } else schedule();
    }
  }
  const handle = {
    poll,
    close() {
      closed = true;
      window.clearTimeout(timer);
      delete el._flowgateFeed;
    },
  };
  el._flowgateFeed = handle;
  el.addEventListener("live:message", (message) => {
    const detail = /** @type {CustomEvent} */ (message).detail;
    const id = detail && detail.event;
    if (typeof id === "number" && id <= since && !delivered.has(id)) {
      delivered.add(id); // committed after a later event: the feed has moved past it
      fire(el, { reason: "late", event: id });
    }
    poll();
  });
  schedule();
  return handle;
}

/** Connect every [data-live-url] / [data-live-feed] element inside root (root included).
 * @param {Document | Element | null | undefined} root */
export function initLive(root) {
  if (!root || !root.querySelectorAll) return;
  const element = /** @type {LiveElement} */ (root);
  /** @type {LiveElement[]} */
  const found = [...root.querySelectorAll("[data-live-url]")].map((el) => /** @type {LiveElement} */ (el));
  if (element.matches && element.matches("[data-live-url]")) found.push(element);
  found.forEach((el) => connectLive(el));
  /** @type {LiveElement[]} */
  const feeds = [...root.querySelectorAll("[data-live-feed]")].map((el) => /** @type {LiveElement} */ (el));
  if (element.matches && element.matches("[data-live-feed]")) feeds.push(element);
  feeds.forEach((el) => connectFeed(el));
}

// Elements removed by htmx close their socket.
document.addEventListener("htmx:beforeCleanupElement", (event) => {
  const el = /** @type {LiveElement | null} */ (event.target);
  if (el && el._flowgateLive) el._flowgateLive.close();
  if (el && el._flowgateFeed) el._flowgateFeed.close();
});
