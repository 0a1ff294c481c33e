"""Address policy and allow-list parsing (pure functions, no network)."""

from __future__ import annotations

import ipaddress

import pytest

from apps.connectors.http.policy import (
    AllowEntry,
    address_problem,
    is_allowlisted,
    parse_allowlist,
)


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "93.184.216.34", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"],
)
def test_public_addresses_are_allowed(address):
    assert address_problem(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("127.0.0.1", "loopback"),
        ("10.1.1.1", "private (RFC 1918)"),
        ("100.127.255.255", "carrier-grade NAT (RFC 6598)"),
        ("169.254.169.254", "a cloud metadata service"),
        ("100.100.100.200", "a cloud metadata service"),
        ("fd00:ec2::254", "a cloud metadata service"),
        ("198.18.0.1", "reserved (benchmarking)"),
        ("::ffff:10.0.0.1", "the IPv4-mapped form of 10.0.0.1 (private (RFC 1918))"),
        ("::8.8.8.8", "an IPv4-compatible address (deprecated transition form)"),
        ("2002:0a00:0001::1", "the 6to4 form of 10.0.0.1 (private (RFC 1918))"),
        ("2001:0:a00:1::1", "the Teredo form of 10.0.0.1 (private (RFC 1918))"),
        ("fec0::1", "site-local (deprecated, private)"),
        ("100::1", "reserved (discard-only)"),
    ],
)
def test_internal_addresses_have_a_reason(address, problem):
    assert address_problem(ipaddress.ip_address(address)) == problem


def test_allowlist_parsing():
    entries = parse_allowlist(
        [
            "Billing.Internal.",
            "api.internal:8443",
            "10.20.0.0/16",
            "127.0.0.1:8080",
            "[::1]:9000",
            "fd12::/64",
            " ",
        ]
    )
    assert entries == [
        AllowEntry(host="billing.internal", network=None, port=None),
        AllowEntry(host="api.internal", network=None, port=8443),
        AllowEntry(host=None, network=ipaddress.ip_network("10.20.0.0/16"), port=None),
        AllowEntry(host=None, network=ipaddress.ip_network("127.0.0.1/32"), port=8080),
        AllowEntry(host=None, network=ipaddress.ip_network("::1/128"), port=9000),
        AllowEntry(host=None, network=ipaddress.ip_network("fd12::/64"), port=None),
    ]


@pytest.mark.parametrize("entry", ["host:99999", "a b", "http://x", "[::1", "h:1:2x"])
def test_malformed_allowlist_entries_are_errors(entry):
    with pytest.raises(ValueError) as caught:
        parse_allowlist([entry])
    assert repr(entry) in str(caught.value)


def test_allowlist_matching_by_host_address_and_port():
    entries = parse_allowlist(["api.internal", "127.0.0.1:8080", "10.0.0.0/8"])
    loopback = ipaddress.ip_address("127.0.0.1")

    assert is_allowlisted(entries, host="api.internal", ip=loopback, port=1)
    assert is_allowlisted(entries, host="other", ip=loopback, port=8080)
    assert not is_allowlisted(entries, host="other", ip=loopback, port=8081)
    assert is_allowlisted(entries, host="x", ip=ipaddress.ip_address("10.9.9.9"), port=5)
    assert not is_allowlisted(entries, host="x", ip=ipaddress.ip_address("11.0.0.1"), port=5)
