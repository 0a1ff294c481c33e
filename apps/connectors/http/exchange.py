"""One request and its response: sending over a pinned connection, reading a capped body, and
turning the status into a result, a business error, or a permanent or retryable error."""

from __future__ import annotations

import errno
import http.client
import json
import re
import ssl
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from apps.connectors.base import BusinessError, ConnectorError, Throttled
from apps.connectors.http.errors import refuse
from apps.connectors.http.targets import Target
from apps.connectors.http.transport import (
    Deadline,
    PinnedHTTPConnection,
    PinnedHTTPSConnection,
)

REDIRECT_STATUSES = {301, 302, 303, 307, 308}
RETRYABLE_4XX = {408, 429}
RETRY_AFTER_STATUSES = {429, 503}
REDACTED = "[redacted]"


def send(
    target: Target,
    method: str,
    body: bytes | None,
    headers: dict[str, str],
    *,
    deadline: Deadline,
    connect_timeout: float,
    max_bytes: int,
) -> tuple[int, dict[str, str], bytes]:
    """One request/response, every socket operation bounded by what is left of ``deadline``."""
    connection_class = PinnedHTTPSConnection if target.scheme == "https" else PinnedHTTPConnection
    conn = connection_class(
        target.host,
        target.port,
        address=target.address,
        deadline=deadline,
        connect_timeout=connect_timeout,
    )
    where = f"{method} {target.display}"
    try:
        conn.request(method, target.path, body=body, headers=headers)
        response = conn.getresponse()
        resp_headers = {k.lower(): v for k, v in response.getheaders()}
        raw = b""
        if method != "HEAD" and response.status not in REDIRECT_STATUSES:
            raw = _read_capped(response, max_bytes, where)
        return response.status, resp_headers, raw
    except ConnectorError:
        raise
    except TimeoutError:
        raise timed_out(where, deadline) from None
    except ssl.SSLCertVerificationError as exc:
        message = f"{where}: TLS certificate verification failed ({exc.verify_message})."
        raise refuse(message) from None
    except ssl.SSLError as exc:
        raise ConnectorError(f"{where}: TLS error ({exc.reason}); will retry.") from None
    except ConnectionRefusedError:
        raise ConnectorError(f"{where}: connection refused; will retry.") from None
    except (http.client.HTTPException, OSError) as exc:
        reason = errno.errorcode.get(getattr(exc, "errno", None) or 0, type(exc).__name__)
        raise ConnectorError(f"{where}: connection failed ({reason}); will retry.") from None
    finally:
        conn.close()


def timed_out(where: str, deadline: Deadline) -> ConnectorError:
    return ConnectorError(
        f"{where} did not finish within its {deadline.seconds:g}s timeout (connecting, "
        "sending, and receiving the headers and body together); will retry.",
        permanent=False,
    )


def _read_capped(response: http.client.HTTPResponse, max_bytes: int, where: str) -> bytes:
    declared = response.getheader("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise refuse(
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
            raise refuse(f"{where}: the response is larger than the {max_bytes}-byte limit.")


def result(
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
        wait = parse_retry_after(retry_after) if status in RETRY_AFTER_STATUSES else None
        if status == 429 and wait is not None:
            # Throttled, not failing: the step waits as told without spending an attempt.
            raise Throttled(
                f"{where} answered 429{hint}: {_excerpt(text)}; will retry.",
                retry_after=wait,
            )
        raise ConnectorError(
            f"{where} answered {status}{hint}: {_excerpt(text)}; will retry.",
            permanent=False,
            retry_after=wait,
        )
    if 400 <= status < 500:
        raise refuse(f"{where} answered {status}: {_excerpt(text)}")
    raise refuse(f"{where} answered unexpected status {status}.")


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delay-seconds or an HTTP-date (RFC 9110
    10.2.3). None when absent or unreadable (then the step's own backoff applies)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


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
