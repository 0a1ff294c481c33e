"""The ``http`` connector: one HTTP(S) request (plus checked redirects) per activation."""

from __future__ import annotations

import base64
import errno
import http.client
import ipaddress
import json
import re
import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urljoin, urlsplit

from django.conf import settings

from apps.common.errors import FlowgateError
from apps.connectors.base import BusinessError, Connector, ConnectorError, ExecutionContext
from apps.connectors.http.policy import (
    AllowEntry,
    IPAddress,
    address_problem,
    is_allowlisted,
    normalise_host,
    parse_allowlist,
)
from apps.connectors.http.transport import PinnedHTTPConnection, PinnedHTTPSConnection
from apps.connectors.registry import register
from apps.connectors.services import secret_reveal

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
MAX_REDIRECTS = 5
REDIRECT_STATUSES = {301, 302, 303, 307, 308}
RETRYABLE_4XX = {408, 429}
MAX_CONNECT_TIMEOUT = 5.0
MAX_TIMEOUT = 120.0
MAX_URL_LENGTH = 8192
# getaddrinfo cannot be interrupted: lookups run here so that a step can stop waiting for one.
_DNS_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="flowgate-dns")
RESERVED_HEADERS = {
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "idempotency-key",
    "te",
    "upgrade",
    "proxy-authorization",
}
USER_AGENT = "Flowgate-HTTP-Connector/1"
REDACTED = "[redacted]"
_TEMPLATE_VAR_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_HEADER_NAME_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_NUMERIC_LABEL_RE = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
_HOST_NAME_RE = re.compile(
    r"^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$"
)

CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["url"],
    "properties": {
        "method": {"type": "string", "enum": list(METHODS), "default": "GET"},
        "url": {
            "type": "string",
            "description": "http(s) URL. '{name}' is replaced by the URL-encoded input 'name'.",
            "examples": ["https://api.example.com/orders/{order_id}"],
        },
        "headers": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "Extra request headers (not Host, Content-Length, Idempotency-Key).",
        },
        "query": {
            "type": "object",
            "additionalProperties": {"type": ["string", "number", "boolean", "array"]},
            "description": "Query parameters added to the URL.",
        },
        "json": {"description": "JSON request body (sent with Content-Type: application/json)."},
        "auth": {
            "type": "object",
            "required": ["type", "secret"],
            "properties": {
                "type": {"type": "string", "enum": ["basic", "bearer", "api_key_header"]},
                "secret": {"type": "string", "description": "Name of a stored secret."},
                "username": {"type": "string", "description": "For basic auth."},
                "header": {
                    "type": "string",
                    "default": "X-API-Key",
                    "description": "For api_key_header: the header carrying the secret.",
                },
            },
            "additionalProperties": False,
        },
        "business_errors": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": 'HTTP status -> BPMN errorCode, e.g. {"404": "ORDER_NOT_FOUND"}; '
            "such a response routes to the matching error boundary event.",
        },
        "timeout": {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": MAX_TIMEOUT,
            "description": "Read timeout in seconds (default: the step's timeout).",
        },
    },
}


@dataclass(frozen=True)
class Target:
    """A checked request target: connect to ``address``, say ``host`` in Host/SNI."""

    scheme: str
    host: str
    port: int
    path: str
    address: IPAddress

    @property
    def origin(self) -> tuple[str, str, int]:
        return (self.scheme, self.host, self.port)

    @property
    def display(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


def _refuse(message: str) -> ConnectorError:
    return ConnectorError(message, permanent=True)


def _allowlist() -> list[AllowEntry]:
    try:
        return parse_allowlist(settings.FLOWGATE_HTTP_ALLOWLIST)
    except ValueError as exc:
        raise _refuse(f"{exc} Fix the setting; no request was sent.") from None


def check_url(url: str, *, allowlist: list[AllowEntry] | None = None) -> Target:
    """Parse ``url``, resolve its host and check every address. Raises a permanent
    ConnectorError saying why, before any connection is made."""
    allowlist = _allowlist() if allowlist is None else allowlist
    if not isinstance(url, str) or not url:
        raise _refuse("The 'url' input must be a non-empty string.")
    if len(url) > MAX_URL_LENGTH:
        raise _refuse(f"The URL is longer than {MAX_URL_LENGTH} characters.")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 or ch == "\\" for ch in url):
        raise _refuse(
            "The URL contains whitespace, control characters or a backslash; encode them."
        )
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise _refuse(f"The URL cannot be parsed: {exc}.") from None
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"}:
        shown = scheme or "(none)"
        raise _refuse(f"Only http:// and https:// URLs are allowed, not scheme '{shown}'.")
    if "@" in parts.netloc:
        raise _refuse(
            "URLs with user info (user:password@host) are refused; use the 'auth' input with a "
            "stored secret instead."
        )
    raw_host = parts.hostname
    if not raw_host:
        raise _refuse(f"The URL {url!r} has no host.")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise _refuse(f"The URL {url!r} has an invalid port.") from None
    if not 0 < port < 65536:
        raise _refuse(f"The URL {url!r} has an invalid port.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    host = normalise_host(raw_host)
    if _is_loopback_name(host) and not any(e.host == host for e in allowlist):
        raise _refuse(
            f"Refused to call {scheme}://{host}:{port}: '{host}' names the local machine "
            "(loopback), which the HTTP connector does not contact. If this is intended, an "
            "administrator can add it to FLOWGATE_HTTP_ALLOWLIST."
        )
    host, addresses = _resolve(raw_host, bracketed=parts.netloc.startswith("["), port=port)
    for address in addresses:
        if is_allowlisted(allowlist, host=host, ip=address, port=port):
            continue
        problem = address_problem(address)
        if problem is not None:
            via = "" if host == str(address) else f" (resolved from '{host}')"
            raise _refuse(
                f"Refused to call {scheme}://{_bracket(host)}:{port}: the address {address}{via} "
                f"is {problem}, which the HTTP connector does not contact. If this internal "
                "service is intended, an administrator can add it to FLOWGATE_HTTP_ALLOWLIST."
            )
    # Pin one checked address; prefer IPv4 (servers often lack working IPv6 routes).
    pinned = sorted(addresses, key=lambda a: a.version)[0]
    return Target(scheme=scheme, host=host, port=port, path=path, address=pinned)


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _is_loopback_name(host: str) -> bool:
    return host == "localhost" or host.endswith(".localhost")


def _resolve(raw_host: str, *, bracketed: bool, port: int) -> tuple[str, list[IPAddress]]:
    """(normalised host, its addresses). IP literals must be canonical; names go to DNS once."""
    if bracketed:
        try:
            address6 = ipaddress.IPv6Address(raw_host)
            return str(address6), [address6]
        except ValueError:
            raise _refuse(f"'[{raw_host}]' is not a valid IPv6 address.") from None
    try:
        address = ipaddress.IPv4Address(raw_host)
        return str(address), [address]
    except ValueError:
        pass
    host = normalise_host(raw_host)
    labels = host.split(".")
    if all(_NUMERIC_LABEL_RE.match(label) for label in labels):
        try:
            reads_as = f" (it would be read as {_aton(host)})"
        except OSError:
            reads_as = ""
        raise _refuse(
            f"Refused to call host '{raw_host}': non-canonical numeric IP address forms (decimal, "
            f"octal, hex or shortened){reads_as} are not allowed; write the address as a.b.c.d."
        )
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise _refuse(f"The host name '{raw_host}' is not a valid domain name.") from None
    if not _HOST_NAME_RE.match(host) or len(host) > 253:
        raise _refuse(f"The host name '{raw_host}' is not a valid domain name.")
    timeout = float(settings.FLOWGATE_HTTP_DNS_TIMEOUT)
    lookup = _DNS_POOL.submit(
        socket.getaddrinfo, host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    try:
        infos = lookup.result(timeout=timeout)
    except FutureTimeout:
        raise ConnectorError(
            f"Looking up '{host}' took longer than {timeout:g}s (DNS); will retry.",
            permanent=False,
        ) from None
    except socket.gaierror as exc:
        if exc.errno in {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}:
            raise _refuse(f"The host name '{host}' does not resolve (no such domain).") from None
        raise ConnectorError(
            f"Could not resolve '{host}' ({exc.strerror}); will retry.", permanent=False
        ) from None
    addresses: list[IPAddress] = []
    for family, _type, _proto, _name, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        fields: tuple[Any, ...] = tuple(sockaddr)
        text = str(fields[0])
        if family == socket.AF_INET6 and len(fields) == 4 and fields[3]:
            text = f"{text.split('%')[0]}%{fields[3]}"
        resolved = ipaddress.ip_address(text)
        if resolved not in addresses:
            addresses.append(resolved)
    if not addresses:
        raise _refuse(f"The host name '{host}' has no IPv4/IPv6 address.")
    return host, addresses


def _aton(host: str) -> str:
    return str(ipaddress.IPv4Address(socket.inet_aton(host)))


class HttpConnector(Connector):
    name = "http"
    label = "HTTP request"
    description = (
        "Calls an HTTP/REST endpoint and returns status, headers, json and text. Internal, "
        "loopback and metadata addresses are refused unless an administrator allow-lists them."
    )
    config_schema = CONFIG_SCHEMA

    def execute(self, inputs: dict[str, Any], context: ExecutionContext) -> dict[str, Any]:
        request = _build_request(inputs, context)
        read_timeout = float(inputs.get("timeout") or context.timeout)
        connect_timeout = min(MAX_CONNECT_TIMEOUT, read_timeout)
        max_bytes = int(settings.FLOWGATE_HTTP_MAX_RESPONSE_BYTES)
        allowlist = _allowlist()
        method, url, body, headers = (
            request["method"],
            request["url"],
            request["body"],
            request["headers"],
        )
        first_origin = None
        for hop in range(MAX_REDIRECTS + 1):
            target = check_url(url, allowlist=allowlist)
            first_origin = first_origin or target.origin
            if target.origin != first_origin:
                # Credentials belong to the first origin only.
                headers = {k: v for k, v in headers.items() if k.lower() not in request["auth"]}
            status, resp_headers, raw = _send(
                target,
                method,
                body,
                headers,
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                max_bytes=max_bytes,
            )
            location = resp_headers.get("location")
            if status in REDIRECT_STATUSES and location:
                if hop == MAX_REDIRECTS:
                    raise _refuse(
                        f"Too many redirects (more than {MAX_REDIRECTS}) starting at "
                        f"{request['url']}."
                    )
                url = urljoin(url, location)
                if status == 303 or (status in {301, 302} and method not in {"GET", "HEAD"}):
                    method, body = "GET", None
                    headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
                continue
            return _result(status, resp_headers, raw, inputs, target, method, request["sensitive"])
        raise AssertionError("unreachable")  # pragma: no cover


def _build_request(inputs: dict[str, Any], context: ExecutionContext) -> dict[str, Any]:
    if not isinstance(inputs, dict):
        raise _refuse("The http connector needs its inputs as an object.")
    method = str(inputs.get("method") or "GET").upper()
    if method not in METHODS:
        raise _refuse(f"Unsupported method {method!r}; use one of {', '.join(METHODS)}.")
    url = _fill_template(inputs.get("url"), inputs)
    query = inputs.get("query") or {}
    if not isinstance(query, dict):
        raise _refuse("The 'query' input must be an object (name -> value).")
    if query:
        url += ("&" if urlsplit(url).query else "?") + urlencode(
            {k: _query_value(k, v) for k, v in query.items()}, doseq=True
        )
    timeout = inputs.get("timeout")
    if timeout is not None and (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not 0 < timeout <= MAX_TIMEOUT
    ):
        raise _refuse(f"The 'timeout' input must be a number of seconds in (0, {MAX_TIMEOUT}].")
    headers = {
        "User-Agent": USER_AGENT,
        "Accept": "application/json, */*;q=0.5",
    }
    user_headers = inputs.get("headers") or {}
    if not isinstance(user_headers, dict):
        raise _refuse("The 'headers' input must be an object (name -> value).")
    for key, value in user_headers.items():
        _check_header(str(key), value)
        headers[str(key)] = value
    body = None
    if "json" in inputs and method not in {"GET", "HEAD"}:
        try:
            body = json.dumps(inputs["json"], separators=(",", ":"), allow_nan=False).encode()
        except (TypeError, ValueError) as exc:
            raise _refuse(f"The 'json' input cannot be sent as JSON: {exc}.") from None
        headers.setdefault("Content-Type", "application/json")
    auth_header_names = set()
    sensitive: list[str] = []
    auth = inputs.get("auth")
    if auth:
        name, value, secret = _auth_header(auth)
        headers[name] = value
        auth_header_names.add(name.lower())
        sensitive = [v for v in {value, secret, value.partition(" ")[2]} if len(v) >= 4]
    headers["Idempotency-Key"] = context.idempotency_key
    business_errors = inputs.get("business_errors") or {}
    if not isinstance(business_errors, dict) or not all(
        isinstance(v, str) and v for v in business_errors.values()
    ):
        raise _refuse("The 'business_errors' input must map HTTP statuses to errorCode strings.")
    return {
        "method": method,
        "url": url,
        "body": body,
        "headers": headers,
        "auth": auth_header_names,
        "sensitive": sorted(sensitive, key=len, reverse=True),
    }


def _fill_template(template: Any, inputs: dict[str, Any]) -> str:
    if not isinstance(template, str) or not template:
        raise _refuse("The 'url' input must be a non-empty string.")

    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in inputs:
            raise _refuse(f"The URL uses '{{{key}}}' but there is no input named {key!r}.")
        value = inputs[key]
        if isinstance(value, dict | list) or value is None:
            raise _refuse(f"The URL variable {key!r} must be a string or number.")
        return quote(str(value), safe="")

    return _TEMPLATE_VAR_RE.sub(replace, template)


def _query_value(key: Any, value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return value
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return value
    raise _refuse(f"Query parameter {key!r} must be a string, number, boolean or list of them.")


def _check_header(name: str, value: Any) -> None:
    if not _HEADER_NAME_RE.match(name):
        raise _refuse(f"Header name {name!r} is not a valid HTTP header name.")
    if name.lower() in RESERVED_HEADERS:
        raise _refuse(f"Header {name!r} is set by the connector and cannot be overridden.")
    if not isinstance(value, str) or any(ch in value for ch in "\r\n\0"):
        raise _refuse(f"Header {name!r} must be a single-line string.")


def _auth_header(auth: Any) -> tuple[str, str, str]:
    """(header name, header value, the secret) for the ``auth`` input."""
    if not isinstance(auth, dict):
        raise _refuse("The 'auth' input must be an object with 'type' and 'secret'.")
    kind, secret_name = auth.get("type"), auth.get("secret")
    if kind not in {"basic", "bearer", "api_key_header"}:
        raise _refuse("auth.type must be 'basic', 'bearer' or 'api_key_header'.")
    if not isinstance(secret_name, str) or not secret_name:
        raise _refuse("auth.secret must name a stored secret.")
    try:
        secret = secret_reveal(secret_name)
    except FlowgateError as exc:
        raise _refuse(exc.message) from None
    if any(ch in secret for ch in "\r\n\0"):
        raise _refuse(f"Secret {secret_name!r} contains a line break; it cannot go in a header.")
    if kind == "bearer":
        return "Authorization", f"Bearer {secret}", secret
    if kind == "basic":
        username = auth.get("username")
        if not isinstance(username, str) or not username or ":" in username:
            raise _refuse("Basic auth needs auth.username (without ':').")
        token = base64.b64encode(f"{username}:{secret}".encode()).decode()
        return "Authorization", f"Basic {token}", secret
    header = auth.get("header") or "X-API-Key"
    if not isinstance(header, str):
        raise _refuse("auth.header must be a header name.")
    _check_header(header, "x")
    return header, secret, secret


def _send(
    target: Target,
    method: str,
    body: bytes | None,
    headers: dict[str, str],
    *,
    connect_timeout: float,
    read_timeout: float,
    max_bytes: int,
) -> tuple[int, dict[str, str], bytes]:
    connection_class = PinnedHTTPSConnection if target.scheme == "https" else PinnedHTTPConnection
    conn = connection_class(
        target.host,
        target.port,
        address=target.address,
        connect_timeout=connect_timeout,
        timeout=read_timeout,
    )
    where = f"{method} {target.display}"
    deadline = time.monotonic() + connect_timeout + 2 * read_timeout
    try:
        conn.request(method, target.path, body=body, headers=headers)
        response = conn.getresponse()
        resp_headers = {k.lower(): v for k, v in response.getheaders()}
        raw = b""
        if method != "HEAD" and response.status not in REDIRECT_STATUSES:
            raw = _read_capped(response, max_bytes, deadline, where)
        return response.status, resp_headers, raw
    except ConnectorError:
        raise
    except TimeoutError:
        raise ConnectorError(
            f"{where} timed out (connect {connect_timeout:g}s, read {read_timeout:g}s); "
            "will retry.",
            permanent=False,
        ) from None
    except ssl.SSLCertVerificationError as exc:
        message = f"{where}: TLS certificate verification failed ({exc.verify_message})."
        raise _refuse(message) from None
    except ssl.SSLError as exc:
        raise ConnectorError(f"{where}: TLS error ({exc.reason}); will retry.") from None
    except ConnectionRefusedError:
        raise ConnectorError(f"{where}: connection refused; will retry.") from None
    except (http.client.HTTPException, OSError) as exc:
        reason = errno.errorcode.get(getattr(exc, "errno", None) or 0, type(exc).__name__)
        raise ConnectorError(f"{where}: connection failed ({reason}); will retry.") from None
    finally:
        conn.close()


def _read_capped(
    response: http.client.HTTPResponse, max_bytes: int, deadline: float, where: str
) -> bytes:
    declared = response.getheader("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise _refuse(
            f"{where}: the response is {declared} bytes, more than the {max_bytes}-byte limit."
        )
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = response.read(min(64 * 1024, max_bytes + 1 - total))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if total > max_bytes:
            raise _refuse(f"{where}: the response is larger than the {max_bytes}-byte limit.")
        if time.monotonic() > deadline:
            raise ConnectorError(f"{where}: reading the response took too long; will retry.")


def _result(
    status: int,
    headers: dict[str, str],
    raw: bytes,
    inputs: dict[str, Any],
    target: Target,
    method: str,
    sensitive: list[str],
) -> dict[str, Any]:
    text = raw.decode(_charset(headers.get("content-type", "")), errors="replace")
    # A server that echoes the request must not smuggle the credential into process variables
    # or incident messages.
    for value in sensitive:
        text = text.replace(value, REDACTED)
        headers = {k: v.replace(value, REDACTED) for k, v in headers.items()}
    where = f"{method} {target.display}{target.path.split('?')[0]}"
    business_errors = inputs.get("business_errors") or {}
    if str(status) in business_errors:
        raise BusinessError(
            business_errors[str(status)], f"{where} answered {status}: {_excerpt(text)}"
        )
    if 200 <= status < 300:
        return {"status": status, "headers": headers, "json": _json(headers, text), "text": text}
    if status in RETRYABLE_4XX or status >= 500:
        retry_after = headers.get("retry-after")
        hint = f" (Retry-After: {retry_after})" if retry_after else ""
        raise ConnectorError(
            f"{where} answered {status}{hint}: {_excerpt(text)}; will retry.", permanent=False
        )
    if 400 <= status < 500:
        raise _refuse(f"{where} answered {status}: {_excerpt(text)}")
    raise _refuse(f"{where} answered unexpected status {status}.")


def _charset(content_type: str) -> str:
    match = re.search(r"charset=\"?([A-Za-z0-9._-]+)", content_type)
    if match:
        try:
            "".encode(match.group(1))
            return match.group(1)
        except LookupError:
            pass
    return "utf-8"


def _json(headers: dict[str, str], text: str) -> Any:
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json" or content_type.endswith("+json"):
        try:
            return json.loads(text)
        except ValueError:
            return None
    return None


def _excerpt(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return (text[:limit] + "…") if len(text) > limit else (text or "(empty body)")


register(HttpConnector())
