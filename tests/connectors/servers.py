"""Real local HTTP servers for the HTTP connector tests (only ever on 127.0.0.1)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class SeenRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = 0.0  # when the server read it (epoch seconds)


@dataclass
class Recorder:
    requests: list[SeenRequest] = field(default_factory=list)
    connections: int = 0
    dripped: int = 0
    in_flight: int = 0  # /hold requests being answered right now
    max_in_flight: int = 0
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    recorder: Recorder

    def process_request(self, request, client_address):
        with self.recorder.lock:
            self.recorder.connections += 1
        super().process_request(request, client_address)

    def handle_error(self, request, client_address):
        pass  # the client hung up on purpose (size cap, timeout tests)


class ScriptedHandler(BaseHTTPRequestHandler):
    """Routes (all answers are deterministic):
    /ok                      200 JSON echo of the request
    /status/<code>           <code> with a short text body (Retry-After: 7, or ?retry_after=V),
                             after ?delay=S seconds
    /slow                    waits until the test ends (read timeout)
    /big?size=N              N bytes with Content-Length
    /big-unsized?size=N      N bytes, no Content-Length (connection close)
    /redirect?to=URL[&code=302]
    /loop                    redirects to itself forever
    /text                    200 text/plain
    /hold?seconds=S          200 after S seconds (or when the test ends); counts concurrent calls
    /echo-headers/<code>     <code> with the request headers as JSON (and Authorization in X-Echo)
    /drip-body?n=N&every=S   headers at once (Content-Length N), then one body byte every S seconds
    /drip-headers?every=S    the status line and headers one byte every S seconds, then "{}"
    """

    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format, *args):  # keep test output quiet
        pass

    def _record(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with self.server.recorder.lock:
            self.server.recorder.requests.append(
                SeenRequest(self.command, self.path, dict(self.headers.items()), body, time.time())
            )
        self._body = body

    def _send(self, status: int, body: bytes, content_type: str = "application/json", **extra):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self) -> None:
        self._record()
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        path = parts.path
        if path == "/ok":
            payload = {
                "method": self.command,
                "path": self.path,
                "idempotency_key": self.headers.get("Idempotency-Key"),
                "body": json.loads(self._body) if self._body else None,
            }
            self._send(200, json.dumps(payload).encode(), X_Test="yes")
        elif path.startswith("/status/"):
            code = int(path.rsplit("/", 1)[1])
            retry_after = query.get("retry_after", "7")
            time.sleep(float(query.get("delay", "0")))
            self._send(code, f"status {code} body".encode(), "text/plain", Retry_After=retry_after)
        elif path == "/slow":
            self.server.recorder.release.wait(10)
            self._send(200, b"{}")
        elif path == "/big":
            self._send(200, b"x" * int(query["size"]), "text/plain")
        elif path == "/big-unsized":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"y" * int(query["size"]))
            self.close_connection = True
        elif path == "/redirect":
            code = int(query.get("code", "302"))
            self._send(code, b"", "text/plain", Location=query["to"])
        elif path == "/loop":
            self._send(302, b"", "text/plain", Location="/loop")
        elif path.startswith("/echo-headers/"):
            code = int(path.rsplit("/", 1)[1])
            self._send(
                code,
                json.dumps(dict(self.headers.items())).encode(),
                X_Echo=str(self.headers.get("Authorization")),
            )
        elif path == "/drip-body":
            size, every = int(query["n"]), float(query["every"])
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            self.wfile.flush()
            self._drip(b"x" * size, every)
        elif path == "/drip-headers":
            every = float(query["every"])
            head = (
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
            )
            self._drip(head, every)
        elif path == "/hold":
            recorder = self.server.recorder
            with recorder.lock:
                recorder.in_flight += 1
                recorder.max_in_flight = max(recorder.max_in_flight, recorder.in_flight)
            try:
                recorder.release.wait(float(query.get("seconds", "0.2")))
            finally:
                with recorder.lock:
                    recorder.in_flight -= 1
            self._send(200, b"{}")
        elif path == "/text":
            self._send(200, "héllo".encode("latin-1"), "text/plain; charset=latin-1")
        else:
            self._send(404, b"no such route", "text/plain")

    def _drip(self, data: bytes, every: float) -> None:
        """A slow-drip server: one byte at a time, each well inside any per-read timeout."""
        for byte in data:
            if self.server.recorder.release.wait(every):
                return
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            with self.server.recorder.lock:
                self.server.recorder.dripped += 1

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle


class LocalServer:
    def __init__(self, handler=ScriptedHandler):
        self.recorder = Recorder()
        self.httpd = _Server(("127.0.0.1", 0), handler)
        self.httpd.recorder = self.recorder
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def __enter__(self) -> LocalServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.recorder.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)
