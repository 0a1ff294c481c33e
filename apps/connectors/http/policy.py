"""Which addresses the HTTP connector may reach (SSRF protection).

The connector resolves the host itself, checks *every* resolved address here, and then connects to
the checked address (pinning), so a DNS answer cannot change between check and connect. Anything
that is not a public unicast address is refused unless the admin allow-list
(``settings.FLOWGATE_HTTP_ALLOWLIST``) opens it deliberately.

Allow-list entries: a host name (``billing.internal``), an IP address or CIDR network
(``10.20.0.0/16``, ``fd12::/64``), each optionally with a port (``billing.internal:8443``,
``127.0.0.1:8080``, ``[::1]:8080``). A host-name entry opens whatever that name resolves to; an
address entry opens those addresses under any name. With a port, only that port is opened.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network

METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"): "a cloud metadata service",
    ipaddress.ip_address("fd00:ec2::254"): "a cloud metadata service",
    ipaddress.ip_address("100.100.100.200"): "a cloud metadata service",
}

# Order matters only for the message (first match wins): specific before general.
BLOCKED_V4: tuple[tuple[IPNetwork, str], ...] = (
    (_V4("255.255.255.255/32"), "broadcast"),
    (_V4("0.0.0.0/8"), "unspecified ('this network')"),
    (_V4("10.0.0.0/8"), "private (RFC 1918)"),
    (_V4("100.64.0.0/10"), "carrier-grade NAT (RFC 6598)"),
    (_V4("127.0.0.0/8"), "loopback"),
    (_V4("169.254.0.0/16"), "link-local"),
    (_V4("172.16.0.0/12"), "private (RFC 1918)"),
    (_V4("192.0.0.0/24"), "reserved (IETF protocol assignments)"),
    (_V4("192.0.2.0/24"), "reserved (documentation)"),
    (_V4("192.88.99.0/24"), "reserved (6to4 relay anycast)"),
    (_V4("192.168.0.0/16"), "private (RFC 1918)"),
    (_V4("198.18.0.0/15"), "reserved (benchmarking)"),
    (_V4("198.51.100.0/24"), "reserved (documentation)"),
    (_V4("203.0.113.0/24"), "reserved (documentation)"),
    (_V4("224.0.0.0/4"), "multicast"),
    (_V4("240.0.0.0/4"), "reserved"),
)
BLOCKED_V6: tuple[tuple[IPNetwork, str], ...] = (
    (_V6("::/128"), "unspecified"),
    (_V6("::1/128"), "loopback"),
    (_V6("64:ff9b:1::/48"), "local-use NAT64 (RFC 8215)"),
    (_V6("100::/64"), "reserved (discard-only)"),
    (_V6("2001:db8::/32"), "reserved (documentation)"),
    (_V6("2001::/23"), "reserved (IETF protocol assignments)"),
    (_V6("fc00::/7"), "unique-local (private)"),
    (_V6("fe80::/10"), "link-local"),
    (_V6("fec0::/10"), "site-local (deprecated, private)"),
    (_V6("ff00::/8"), "multicast"),
)
# IPv6 forms that carry an IPv4 address inside: judged by the IPv4 address they embed.
IPV4_MAPPED = _V6("::ffff:0:0/96")
IPV4_TRANSLATED = _V6("::ffff:0:0:0/96")
IPV4_COMPATIBLE = _V6("::/96")
NAT64 = _V6("64:ff9b::/96")
SIX_TO_FOUR = _V6("2002::/16")
TEREDO = _V6("2001::/32")


def address_problem(ip: IPAddress) -> str | None:
    """Why ``ip`` must not be contacted, or None if it is a public unicast address."""
    if ip in METADATA_ADDRESSES:
        return METADATA_ADDRESSES[ip]
    if isinstance(ip, ipaddress.IPv4Address):
        return _first_match(ip, BLOCKED_V4)
    if ip.scope_id:
        return "link-local (scoped)"
    embedded = _embedded_ipv4(ip)
    if embedded is not None:
        form, inner = embedded
        for v4 in inner:
            problem = address_problem(v4)
            if problem:
                return f"the {form} form of {v4} ({problem})"
        if form in {"IPv4-compatible", "IPv4-translated"}:
            return f"an {form} address (deprecated transition form)"
        return None
    problem = _first_match(ip, BLOCKED_V6)
    if problem:
        return problem
    if not ip.is_global:
        return "not a public address"
    return None


def _first_match(ip: IPAddress, table: tuple[tuple[IPNetwork, str], ...]) -> str | None:
    for network, reason in table:
        if ip in network:
            return reason
    return None


def _embedded_ipv4(
    ip: ipaddress.IPv6Address,
) -> tuple[str, list[ipaddress.IPv4Address]] | None:
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in IPV4_MAPPED:
        return "IPv4-mapped", [low32]
    if ip in IPV4_TRANSLATED:
        return "IPv4-translated", [low32]
    if ip in NAT64:
        return "NAT64", [low32]
    if ip in IPV4_COMPATIBLE and int(ip) > 1:
        return "IPv4-compatible", [low32]
    if ip in SIX_TO_FOUR:
        return "6to4", [ipaddress.IPv4Address((int(ip) >> 80) & 0xFFFFFFFF)]
    if ip in TEREDO:
        server = ipaddress.IPv4Address((int(ip) >> 64) & 0xFFFFFFFF)
        client = ipaddress.IPv4Address(~int(ip) & 0xFFFFFFFF)
        return "Teredo", [server, client]
    return None


# --- allow-list --------------------------------------------------------------------------------

_HOST_PORT_RE = re.compile(r"^(?P<host>[^:\[\]]+)(?::(?P<port>\d{1,5}))?$")
_BRACKETED_RE = re.compile(r"^\[(?P<host>[^\]]+)\](?::(?P<port>\d{1,5}))?$")


@dataclass(frozen=True)
class AllowEntry:
    host: str | None  # a normalised host name, or None for an address entry
    network: IPNetwork | None
    port: int | None  # None: any port

    def matches(self, *, host: str, ip: IPAddress, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.host is not None:
            return self.host == host
        return self.network is not None and ip in self.network


def normalise_host(host: str) -> str:
    host = host.strip().lower()
    return host[:-1] if host.endswith(".") else host


def parse_allowlist(entries: list[str] | tuple[str, ...]) -> list[AllowEntry]:
    """Parse ``FLOWGATE_HTTP_ALLOWLIST``; a malformed entry raises ValueError naming it."""
    parsed = []
    for raw in entries:
        entry = raw.strip()
        if not entry:
            continue
        match = _BRACKETED_RE.match(entry)
        if match is None and entry.count(":") >= 2:  # bare IPv6 address or network, no port
            host, port_text = entry, None
        else:
            match = match or _HOST_PORT_RE.match(entry)
            if match is None:
                raise ValueError(f"FLOWGATE_HTTP_ALLOWLIST entry {raw!r} is not host[:port].")
            host, port_text = match["host"], match["port"]
        port = int(port_text) if port_text else None
        if port is not None and not 0 < port < 65536:
            raise ValueError(f"FLOWGATE_HTTP_ALLOWLIST entry {raw!r} has an invalid port.")
        try:
            network = ipaddress.ip_network(host, strict=False)
        except ValueError:
            network = None
        if network is not None:
            parsed.append(AllowEntry(host=None, network=network, port=port))
        else:
            if not re.match(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$", normalise_host(host)):
                raise ValueError(
                    f"FLOWGATE_HTTP_ALLOWLIST entry {raw!r} is neither a host name nor an IP "
                    "address/network."
                )
            parsed.append(AllowEntry(host=normalise_host(host), network=None, port=port))
    return parsed


def is_allowlisted(entries: list[AllowEntry], *, host: str, ip: IPAddress, port: int) -> bool:
    return any(entry.matches(host=host, ip=ip, port=port) for entry in entries)
