"""Which client sent a request, when proxies may stand in between.

One setting, ``TRUSTED_PROXIES`` (addresses or networks, empty by default), decides whose
``X-Forwarded-*`` headers count. ``ForwardedHeadersMiddleware`` (first in MIDDLEWARE) applies it:

- from a trusted proxy, ``REMOTE_ADDR`` becomes the client named by ``X-Forwarded-For`` (the
  right-most address that is not itself a trusted proxy), and ``X-Forwarded-Proto``/``-Host``
  stay;
- from anyone else every forwarded header is dropped, so nothing downstream can be fooled.

Everything that needs the client address reads ``REMOTE_ADDR`` after that: the audit trail's
client address, django-axes' login lockout, and /metrics' network check. The web server itself
(uvicorn) is started with ``--no-proxy-headers`` (apps/common/stack.py, docker/), so this is the
only place forwarded headers are read.
"""

from __future__ import annotations

from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

from django.core.exceptions import ImproperlyConfigured

FORWARDED_META = (
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_REAL_IP",
    "HTTP_FORWARDED",
)


@lru_cache(maxsize=8)
def trusted_networks(entries: tuple[str, ...]) -> tuple[IPv4Network | IPv6Network, ...]:
    networks = []
    for entry in entries:
        try:
            networks.append(ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"TRUSTED_PROXIES: {entry!r} is not an IP address or network (like 10.0.0.5 "
                "or 10.0.0.0/24)."
            ) from None
    return tuple(networks)


def is_trusted(address: str, networks) -> bool:
    try:
        parsed = ip_address(address.strip())
    except ValueError:
        return False
    return any(parsed in network for network in networks)


def client_address(meta: dict, networks) -> str:
    """The client's address: ``REMOTE_ADDR``, or, when that is a trusted proxy, the right-most
    ``X-Forwarded-For`` hop that is not a trusted proxy (hops left of it could be forged)."""
    remote = meta.get("REMOTE_ADDR", "")
    if not networks or not is_trusted(remote, networks):
        return remote
    client = remote
    hops = [hop.strip() for hop in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        try:
            ip_address(hop)
        except ValueError:
            break  # not an address: keep the last hop we could check
        client = hop
        if not is_trusted(hop, networks):
            break
    return client


def apply_trusted_proxies(meta: dict, entries: tuple[str, ...]) -> None:
    """Rewrite ``meta`` in place as described in the module docstring."""
    networks = trusted_networks(entries)
    if networks and is_trusted(meta.get("REMOTE_ADDR", ""), networks):
        meta["REMOTE_ADDR"] = client_address(meta, networks)
        return
    for key in FORWARDED_META:
        meta.pop(key, None)
