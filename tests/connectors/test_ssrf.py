"""SSRF: every form of an internal address is refused before any connection is made.

Each case targets the canary listener's port where that makes sense; the canary must record zero
connections. The allow-list is off except where a case needs an allow-listed server to redirect
from (then only that server's host:port is allowed — never the canary's)."""

from __future__ import annotations

import socket

import pytest

from apps.connectors.base import ConnectorError
from apps.connectors.http.connector import HttpConnector
from apps.connectors.http.targets import check_url

NUMERIC = "non-canonical numeric IP address forms"
LOOPBACK = "is loopback"
LOOPBACK_NAME = "names the local machine (loopback)"
SCHEME = "Only http:// and https:// URLs are allowed"
USERINFO = "URLs with user info"

# (url with {port} = canary port, expected fragment of the refusal message)
DIRECT_CASES = [
    ("http://2130706433:{port}/", NUMERIC),
    ("http://0177.0.0.1:{port}/", NUMERIC),
    ("http://0x7f.1:{port}/", NUMERIC),
    ("http://0x7f000001:{port}/", NUMERIC),
    ("http://017700000001:{port}/", NUMERIC),
    ("http://0x7f.0x0.0x0.0x1:{port}/", NUMERIC),
    ("http://127.000.000.001:{port}/", NUMERIC),
    ("http://127.1:{port}/", NUMERIC),
    ("http://127.0.1:{port}/", NUMERIC),
    ("http://0:{port}/", NUMERIC),
    ("http://127.0.0.1:{port}/", LOOPBACK),
    ("HTTP://127.0.0.1:{port}/", LOOPBACK),
    ("https://127.0.0.1:{port}/", LOOPBACK),
    ("http://127.0.0.2:{port}/", LOOPBACK),
    ("http://\u2460\u2461\u2466.0.0.1:{port}/", LOOPBACK),  # ①②⑦ -> 127 after IDNA mapping
    ("http://[::1]:{port}/", LOOPBACK),
    ("http://[0:0:0:0:0:0:0:1]:{port}/", LOOPBACK),
    ("http://[::ffff:127.0.0.1]:{port}/", "IPv4-mapped form of 127.0.0.1 (loopback)"),
    ("http://[::ffff:7f00:1]:{port}/", "IPv4-mapped form of 127.0.0.1 (loopback)"),
    ("http://[0:0:0:0:0:ffff:127.0.0.1]:{port}/", "IPv4-mapped form of 127.0.0.1"),
    ("http://[::ffff:0:7f00:1]:{port}/", "IPv4-translated form of 127.0.0.1"),
    ("http://[64:ff9b::7f00:1]:{port}/", "NAT64 form of 127.0.0.1 (loopback)"),
    ("http://[64:ff9b::127.0.0.1]:{port}/", "NAT64 form of 127.0.0.1 (loopback)"),
    ("http://[64:ff9b:1::a00:1]:{port}/", "local-use NAT64"),
    ("http://[::127.0.0.1]:{port}/", "IPv4-compatible form of 127.0.0.1 (loopback)"),
    ("http://[2002:7f00:1::]:{port}/", "6to4 form of 127.0.0.1 (loopback)"),
    ("http://[2002:a9fe:a9fe::]/", "6to4 form of 169.254.169.254 (a cloud metadata service)"),
    ("http://[2001:0:4136:e378:8000:63bf:80ff:fffe]:{port}/", "Teredo form of 127.0.0.1"),
    ("http://0.0.0.0:{port}/", "unspecified ('this network')"),
    ("http://[::]:{port}/", "is unspecified"),
    ("http://localhost:{port}/", LOOPBACK_NAME),
    ("http://localhost.:{port}/", LOOPBACK_NAME),
    ("http://LocalHost:{port}/", LOOPBACK_NAME),
    ("http://canary.localhost:{port}/", LOOPBACK_NAME),
    ("http://169.254.169.254/latest/meta-data/", "a cloud metadata service"),
    ("http://[fd00:ec2::254]/latest/meta-data/", "a cloud metadata service"),
    ("http://[::ffff:a9fe:a9fe]/", "IPv4-mapped form of 169.254.169.254"),
    ("http://169.254.1.1/", "link-local"),
    ("http://10.0.0.1/", "private (RFC 1918)"),
    ("http://192.168.1.1/", "private (RFC 1918)"),
    ("http://172.16.0.1/", "private (RFC 1918)"),
    ("http://172.31.255.255/", "private (RFC 1918)"),
    ("http://100.64.0.1/", "carrier-grade NAT"),
    ("http://224.0.0.1/", "multicast"),
    ("http://240.0.0.1/", "is reserved"),
    ("http://255.255.255.255/", "broadcast"),
    ("http://192.0.2.1/", "documentation"),
    ("http://[fe80::1]/", "link-local"),
    ("http://[fe80::1%25lo]:{port}/", "link-local"),
    ("http://[fc00::1]/", "unique-local"),
    ("http://[fd12:3456::1]/", "unique-local"),
    ("http://[ff02::1]/", "multicast"),
    ("http://[2001:db8::1]/", "documentation"),
    ("file:///etc/passwd", SCHEME + ", not scheme 'file'"),
    ("gopher://127.0.0.1:{port}/_GET%20/", SCHEME + ", not scheme 'gopher'"),
    ("ftp://127.0.0.1:{port}/", SCHEME),
    ("dict://127.0.0.1:{port}/info", SCHEME),
    ("//127.0.0.1:{port}/", SCHEME + ", not scheme '(none)'"),
    ("http://user@127.0.0.1:{port}/", USERINFO),
    ("http://user:pw@example.com@127.0.0.1:{port}/", USERINFO),
    ("http://example.com\\@127.0.0.1:{port}/", "backslash"),
    ("http://127.0.0.1:{port}\t/", "whitespace"),
    ("http://%31%32%37.0.0.1:{port}/", "not a valid domain name"),
    ("http://127.0.0.1:99999/", "invalid port"),
]


def _loopback_hosts_file_names() -> list[str]:
    """Real local names (from /etc/hosts) that resolve to a loopback address."""
    names = []
    try:
        with open("/etc/hosts") as hosts:
            for line in hosts:
                fields = line.split("#", 1)[0].split()
                if len(fields) >= 2 and (fields[0].startswith("127.") or fields[0] == "::1"):
                    names += [n for n in fields[1:] if "localhost" not in n]
    except OSError:
        pass
    return sorted(set(names))


def _run(url: str, context) -> ConnectorError:
    with pytest.raises(ConnectorError) as caught:
        HttpConnector().execute({"url": url}, context)
    return caught.value


@pytest.mark.parametrize(("template", "fragment"), DIRECT_CASES)
def test_internal_url_forms_are_refused_and_canary_sees_nothing(
    template, fragment, canary, context, settings
):
    settings.FLOWGATE_HTTP_ALLOWLIST = []
    url = template.format(port=canary.port)

    error = _run(url, context)

    assert error.permanent is True
    assert fragment in error.message
    assert canary.recorder.connections == 0
    assert canary.recorder.requests == []


def test_the_table_has_at_least_thirty_forms():
    assert len(DIRECT_CASES) + len(REDIRECT_CASES) >= 30


def test_machine_names_resolving_to_loopback_are_refused(canary, context, settings):
    settings.FLOWGATE_HTTP_ALLOWLIST = []
    names = _loopback_hosts_file_names() + [socket.gethostname()]
    for name in names:
        error = _run(f"http://{name}:{canary.port}/", context)
        assert error.permanent is True
        assert error.message.startswith(f"Refused to call http://{name.lower()}:{canary.port}")
    assert canary.recorder.connections == 0


# Redirects from an allow-listed server (only its own host:port is allowed) to internal targets.
REDIRECT_CASES = [
    ("http://127.0.0.1:{canary}/", 302, LOOPBACK),
    ("http://127.0.0.1:{canary}/", 307, LOOPBACK),
    ("http://127.0.0.1:{canary}/", 308, LOOPBACK),
    ("http://localhost:{canary}/", 301, LOOPBACK_NAME),
    ("http://[::1]:{canary}/", 302, LOOPBACK),
    ("http://[::ffff:127.0.0.1]:{canary}/", 302, "IPv4-mapped form of 127.0.0.1"),
    ("http://2130706433:{canary}/", 303, NUMERIC),
    ("http://0x7f.1:{canary}/", 302, NUMERIC),
    ("//127.0.0.1:{canary}/", 302, LOOPBACK),
    ("http://169.254.169.254/latest/meta-data/", 302, "a cloud metadata service"),
    ("http://10.0.0.1/", 302, "private (RFC 1918)"),
    ("file:///etc/passwd", 302, "not scheme 'file'"),
    ("http://user@127.0.0.1:{canary}/", 302, USERINFO),
]


@pytest.mark.parametrize(("target", "code", "fragment"), REDIRECT_CASES)
def test_redirects_to_internal_targets_are_refused(
    target, code, fragment, allow_server, canary, context
):
    location = target.format(canary=canary.port)
    start = allow_server.url("/redirect")
    inputs = {"url": start, "query": {"to": location, "code": code}, "method": "POST", "json": {}}

    with pytest.raises(ConnectorError) as caught:
        HttpConnector().execute(inputs, context)

    assert caught.value.permanent is True
    assert fragment in caught.value.message
    assert [r.path.split("?")[0] for r in allow_server.recorder.requests] == ["/redirect"]
    assert canary.recorder.connections == 0


def test_canary_is_a_working_detector(canary, context, settings):
    """Positive control: when the canary itself is allow-listed, a request does reach it."""
    settings.FLOWGATE_HTTP_ALLOWLIST = [f"127.0.0.1:{canary.port}"]

    result = HttpConnector().execute({"url": canary.url("/ok")}, context)

    assert result["status"] == 200
    assert canary.recorder.connections == 1


def test_allow_list_is_by_port(server, canary, context, settings):
    settings.FLOWGATE_HTTP_ALLOWLIST = [f"127.0.0.1:{server.port}"]

    error = _run(canary.url("/ok"), context)

    assert "is loopback" in error.message
    assert canary.recorder.connections == 0


def test_connection_goes_to_the_checked_address_and_keeps_the_host_name(
    server, context, settings, monkeypatch
):
    """The name is resolved once, by the connector; the request carries the name, not the IP."""
    settings.FLOWGATE_HTTP_ALLOWLIST = [f"api.flowgate.test:{server.port}"]
    calls = []
    real = socket.getaddrinfo

    def fake_getaddrinfo(host, port, *args, **kwargs):
        calls.append(host)
        if host == "api.flowgate.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)

    result = HttpConnector().execute({"url": f"http://api.flowgate.test:{server.port}/ok"}, context)

    assert result["status"] == 200
    assert calls == ["api.flowgate.test"]
    assert server.recorder.requests[0].headers["Host"] == f"api.flowgate.test:{server.port}"


def test_a_name_resolving_to_any_internal_address_is_refused(context, settings, monkeypatch):
    """Mixed DNS answers (public + internal) are refused as a whole."""
    settings.FLOWGATE_HTTP_ALLOWLIST = []

    def fake_getaddrinfo(host, port, *args, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)

    error = _run("https://rebind.flowgate.test/", context)

    assert error.message.startswith(
        "Refused to call https://rebind.flowgate.test:443: the address 10.1.2.3 (resolved from "
        "'rebind.flowgate.test') is private (RFC 1918)"
    )


def test_check_url_accepts_public_addresses_without_connecting(settings):
    settings.FLOWGATE_HTTP_ALLOWLIST = []

    target = check_url("https://8.8.8.8/dns?x=1")

    assert (target.scheme, target.host, target.port, target.path) == (
        "https",
        "8.8.8.8",
        443,
        "/dns?x=1",
    )
    assert str(target.address) == "8.8.8.8"


def test_a_dns_lookup_that_hangs_becomes_a_retryable_error_after_the_timeout(
    context, settings, monkeypatch
):
    """The resolver is the edge here: a lookup that never answers must not hold the worker."""
    import threading

    settings.FLOWGATE_HTTP_ALLOWLIST = []
    settings.FLOWGATE_HTTP_DNS_TIMEOUT = 0.3
    release = threading.Event()

    def hanging_getaddrinfo(host, port, *args, **kwargs):
        release.wait(10)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))]

    monkeypatch.setattr(socket, "getaddrinfo", hanging_getaddrinfo)
    try:
        error = _run("https://slow-dns.flowgate.test/", context)
    finally:
        release.set()
    assert error.permanent is False
    assert error.message == (
        "Looking up 'slow-dns.flowgate.test' took longer than 0.3s (DNS); will retry."
    )
