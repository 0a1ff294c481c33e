"""Where a request may go: the URL checked, its host resolved once (with a timeout) and every
address checked against the SSRF policy before any connection is made."""

from __future__ import annotations

import ipaddress
import re
import socket
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from apps.connectors.base import ConnectorError
from apps.connectors.http.errors import refuse
from apps.connectors.http.policy import (
    AllowEntry,
    IPAddress,
    address_problem,
    is_allowlisted,
    normalise_host,
    parse_allowlist,
)

MAX_URL_LENGTH = 8192
# getaddrinfo cannot be interrupted: lookups run here so that a step can stop waiting for one.
_DNS_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="flowgate-dns")
_NUMERIC_LABEL_RE = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
_HOST_NAME_RE = re.compile(
    r"^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$"
)


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


def allowlist_from_settings() -> list[AllowEntry]:
    try:
        return parse_allowlist(settings.FLOWGATE_HTTP_ALLOWLIST)
    except ValueError as exc:
        raise refuse(f"{exc} Fix the setting; no request was sent.") from None


def check_url(
    url: str, *, allowlist: list[AllowEntry] | None = None, dns_timeout: float | None = None
) -> Target:
    """Parse ``url``, resolve its host and check every address. Raises a permanent
    ConnectorError saying why, before any connection is made. The name lookup waits at most
    ``dns_timeout`` (FLOWGATE_HTTP_DNS_TIMEOUT when not given, and never longer than that)."""
    allowlist = allowlist_from_settings() if allowlist is None else allowlist
    if not isinstance(url, str) or not url:
        raise refuse("The 'url' input must be a non-empty string.")
    if len(url) > MAX_URL_LENGTH:
        raise refuse(f"The URL is longer than {MAX_URL_LENGTH} characters.")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 or ch == "\\" for ch in url):
        raise refuse("The URL contains whitespace, control characters or a backslash; encode them.")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise refuse(f"The URL cannot be parsed: {exc}.") from None
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"}:
        shown = scheme or "(none)"
        raise refuse(f"Only http:// and https:// URLs are allowed, not scheme '{shown}'.")
    if "@" in parts.netloc:
        raise refuse(
            "URLs with user info (user:password@host) are refused; use the 'auth' input with a "
            "stored secret instead."
        )
    raw_host = parts.hostname
    if not raw_host:
        raise refuse(f"The URL {url!r} has no host.")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise refuse(f"The URL {url!r} has an invalid port.") from None
    if not 0 < port < 65536:
        raise refuse(f"The URL {url!r} has an invalid port.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    host = normalise_host(raw_host)
    if _is_loopback_name(host) and not any(e.host == host for e in allowlist):
        raise refuse(
            f"Refused to call {scheme}://{host}:{port}: '{host}' names the local machine "
            "(loopback), which the HTTP connector does not contact. If this is intended, an "
            "administrator can add it to FLOWGATE_HTTP_ALLOWLIST."
        )
    host, addresses = _resolve(
        raw_host, bracketed=parts.netloc.startswith("["), port=port, dns_timeout=dns_timeout
    )
    for address in addresses:
        if is_allowlisted(allowlist, host=host, ip=address, port=port):
            continue
        problem = address_problem(address)
        if problem is not None:
            via = "" if host == str(address) else f" (resolved from '{host}')"
            raise refuse(
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


def _resolve(
    raw_host: str, *, bracketed: bool, port: int, dns_timeout: float | None = None
) -> tuple[str, list[IPAddress]]:
    """(normalised host, its addresses). IP literals must be canonical; names go to DNS once."""
    if bracketed:
        try:
            address6 = ipaddress.IPv6Address(raw_host)
            return str(address6), [address6]
        except ValueError:
            raise refuse(f"'[{raw_host}]' is not a valid IPv6 address.") from None
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
        raise refuse(
            f"Refused to call host '{raw_host}': non-canonical numeric IP address forms (decimal, "
            f"octal, hex or shortened){reads_as} are not allowed; write the address as a.b.c.d."
        )
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise refuse(f"The host name '{raw_host}' is not a valid domain name.") from None
    if not _HOST_NAME_RE.match(host) or len(host) > 253:
        raise refuse(f"The host name '{raw_host}' is not a valid domain name.")
    timeout = float(settings.FLOWGATE_HTTP_DNS_TIMEOUT)
    if dns_timeout is not None:
        timeout = min(timeout, dns_timeout)
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
            raise refuse(f"The host name '{host}' does not resolve (no such domain).") from None
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
        raise refuse(f"The host name '{host}' has no IPv4/IPv6 address.")
    return host, addresses


def _aton(host: str) -> str:
    return str(ipaddress.IPv4Address(socket.inet_aton(host)))


def protection_key(target: Target) -> str:
    """The key of ``target``'s circuit breaker and limits: the longest configured key (in
    FLOWGATE_HTTP_BREAKER_TARGETS or FLOWGATE_HTTP_LIMIT_TARGETS) that is the target's origin
    plus a prefix of its path, on whole path segments (``http://h:80/api`` covers ``/api`` and
    ``/api/x``, not ``/apix``); else the origin itself. Decision 039."""
    origin = target.display
    path = target.path.split("?", 1)[0].split("#", 1)[0] or "/"
    best = origin
    for key in _configured_keys():
        if not key.startswith(origin + "/"):
            continue
        prefix = key[len(origin) :].rstrip("/")
        if prefix and (path == prefix or path.startswith(prefix + "/")) and len(key) > len(best):
            best = origin + prefix
    return best


def _configured_keys() -> list[str]:
    keys: list[str] = []
    for name in ("FLOWGATE_HTTP_BREAKER_TARGETS", "FLOWGATE_HTTP_LIMIT_TARGETS"):
        configured = getattr(settings, name, None)
        if isinstance(configured, dict):
            keys.extend(str(k) for k in configured)
    return keys
