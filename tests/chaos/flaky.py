"""A local flaky HTTP service for the service tasks of the chaos workload (127.0.0.1 only).

``POST /work`` answers 200 with ``{"n": <the request's n>, "key": <Idempotency-Key>}`` after a short
delay, except that a share of requests (``fail_rate``) gets a 503 (retryable), and, while
``hang_first`` is set, the first request of each idempotency key hangs far past the connector's
timeout. Every request is counted per idempotency key. While ``down_prefix`` is set, every request
whose path starts with it answers 503 at once (the breaker scenario's outage), its arrival time
kept in ``prefix_calls``.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FlakyServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, *, fail_rate: float = 0.15, delay: tuple = (0.02, 0.15)):
        super().__init__(("127.0.0.1", port), _Handler)
        self.fail_rate = fail_rate
        self.delay = delay
        self.hang_first = False
        self.hang_seconds = 8.0
        self.down_prefix: str | None = None
        self.prefix_calls: list[float] = []
        self.lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.answered: Counter[int] = Counter()
        self.random = random.Random(13)  # noqa: S311 - test traffic
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> FlakyServer:
        self._thread = threading.Thread(target=self.serve_forever, daemon=True, name="flaky-http")
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def handle_error(self, request, client_address):
        pass  # the client gave up (timeouts are part of the test)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FlakyServer

    def log_message(self, format, *args):
        pass

    def _send(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        with self.server.lock:
            self.server.answered[status] += 1

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        key = self.headers.get("Idempotency-Key") or ""
        server = self.server
        with server.lock:
            down = server.down_prefix is not None and self.path.startswith(server.down_prefix)
            if down:
                server.prefix_calls.append(time.monotonic())
        if down:
            return self._send(503, {"error": "down: the breaker scenario's outage"})
        with server.lock:
            server.calls[key] += 1
            first = server.calls[key] == 1
            fail = server.random.random() < server.fail_rate
            pause = server.random.uniform(*server.delay)
        if server.hang_first and first:
            time.sleep(server.hang_seconds)
            return self._send(200, {"n": body.get("n"), "key": key, "late": True})
        time.sleep(pause)
        if fail:
            return self._send(503, {"error": "flaky: try again"})
        return self._send(200, {"n": body.get("n"), "key": key})

    def do_GET(self):  # noqa: N802
        self._send(200, {"ok": True})
