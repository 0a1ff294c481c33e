"""The connector's inputs: their schema, and the request built from them (method, URL template
and query, headers, JSON body, authentication from a stored secret, business errors)."""

from __future__ import annotations

import base64
import json
import re
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from apps.common import tracing
from apps.common.errors import FlowgateError
from apps.connectors.base import ExecutionContext
from apps.connectors.http.errors import refuse
from apps.connectors.services import secret_reveal

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
MAX_TIMEOUT = 120.0
RESERVED_HEADERS = {
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "idempotency-key",
    "traceparent",
    "tracestate",
    "te",
    "upgrade",
    "proxy-authorization",
}
USER_AGENT = "Flowgate-HTTP-Connector/1"
_TEMPLATE_VAR_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_HEADER_NAME_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

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
            "description": "Seconds the whole exchange may take: DNS, connecting, sending, "
            "the response headers and body, and any redirects (default: the step's timeout).",
        },
    },
}


def build_request(inputs: dict[str, Any], context: ExecutionContext) -> dict[str, Any]:
    if not isinstance(inputs, dict):
        raise refuse("The http connector needs its inputs as an object.")
    method = str(inputs.get("method") or "GET").upper()
    if method not in METHODS:
        raise refuse(f"Unsupported method {method!r}; use one of {', '.join(METHODS)}.")
    url = _fill_template(inputs.get("url"), inputs)
    query = inputs.get("query") or {}
    if not isinstance(query, dict):
        raise refuse("The 'query' input must be an object (name -> value).")
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
        raise refuse(f"The 'timeout' input must be a number of seconds in (0, {MAX_TIMEOUT}].")
    headers = {
        "User-Agent": USER_AGENT,
        "Accept": "application/json, */*;q=0.5",
    }
    user_headers = inputs.get("headers") or {}
    if not isinstance(user_headers, dict):
        raise refuse("The 'headers' input must be an object (name -> value).")
    for key, value in user_headers.items():
        _check_header(str(key), value)
        headers[str(key)] = value
    body = None
    if "json" in inputs and method not in {"GET", "HEAD"}:
        try:
            body = json.dumps(inputs["json"], separators=(",", ":"), allow_nan=False).encode()
        except (TypeError, ValueError) as exc:
            raise refuse(f"The 'json' input cannot be sent as JSON: {exc}.") from None
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
    tracing.inject(headers)  # traceparent/tracestate of the step's span: the instance's trace
    business_errors = inputs.get("business_errors") or {}
    if not isinstance(business_errors, dict) or not all(
        isinstance(v, str) and v for v in business_errors.values()
    ):
        raise refuse("The 'business_errors' input must map HTTP statuses to errorCode strings.")
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
        raise refuse("The 'url' input must be a non-empty string.")

    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in inputs:
            raise refuse(f"The URL uses '{{{key}}}' but there is no input named {key!r}.")
        value = inputs[key]
        if isinstance(value, dict | list) or value is None:
            raise refuse(f"The URL variable {key!r} must be a string or number.")
        return quote(str(value), safe="")

    return _TEMPLATE_VAR_RE.sub(replace, template)


def _query_value(key: Any, value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return value
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return value
    raise refuse(f"Query parameter {key!r} must be a string, number, boolean or list of them.")


def _check_header(name: str, value: Any) -> None:
    if not _HEADER_NAME_RE.match(name):
        raise refuse(f"Header name {name!r} is not a valid HTTP header name.")
    if name.lower() in RESERVED_HEADERS:
        raise refuse(f"Header {name!r} is set by the connector and cannot be overridden.")
    if not isinstance(value, str) or any(ch in value for ch in "\r\n\0"):
        raise refuse(f"Header {name!r} must be a single-line string.")


def _auth_header(auth: Any) -> tuple[str, str, str]:
    """(header name, header value, the secret) for the ``auth`` input."""
    if not isinstance(auth, dict):
        raise refuse("The 'auth' input must be an object with 'type' and 'secret'.")
    kind, secret_name = auth.get("type"), auth.get("secret")
    if kind not in {"basic", "bearer", "api_key_header"}:
        raise refuse("auth.type must be 'basic', 'bearer' or 'api_key_header'.")
    if not isinstance(secret_name, str) or not secret_name:
        raise refuse("auth.secret must name a stored secret.")
    try:
        secret = secret_reveal(secret_name)
    except FlowgateError as exc:
        raise refuse(exc.message) from None
    if any(ch in secret for ch in "\r\n\0"):
        raise refuse(f"Secret {secret_name!r} contains a line break; it cannot go in a header.")
    if kind == "bearer":
        return "Authorization", f"Bearer {secret}", secret
    if kind == "basic":
        username = auth.get("username")
        if not isinstance(username, str) or not username or ":" in username:
            raise refuse("Basic auth needs auth.username (without ':').")
        token = base64.b64encode(f"{username}:{secret}".encode()).decode()
        return "Authorization", f"Basic {token}", secret
    header = auth.get("header") or "X-API-Key"
    if not isinstance(header, str):
        raise refuse("auth.header must be a header name.")
    _check_header(header, "x")
    return header, secret, secret
