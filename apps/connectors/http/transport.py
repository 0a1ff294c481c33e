"""http.client connections pinned to an address that was checked before connecting.

The URL's host name stays in the Host header and in TLS (SNI and certificate verification); only
the TCP connection goes to the pinned IP, so a second DNS answer can never be used."""

from __future__ import annotations

import http.client
import socket
import ssl

from apps.connectors.http.policy import IPAddress


def _connect(
    address: IPAddress, port: int, connect_timeout: float, read_timeout: float
) -> socket.socket:
    """Connect to exactly ``address`` (no name lookup happens here)."""
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.settimeout(connect_timeout)
        sock.connect((str(address), port))
    except BaseException:
        sock.close()
        raise
    sock.settimeout(read_timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


class PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(
        self, host: str, port: int, *, address: IPAddress, connect_timeout: float, timeout: float
    ):
        super().__init__(host, port, timeout=timeout)
        self.pinned_address = address
        self.connect_timeout = connect_timeout
        self.read_timeout = timeout

    def connect(self) -> None:
        self.sock = _connect(
            self.pinned_address, self.port, self.connect_timeout, self.read_timeout
        )


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(
        self,
        host: str,
        port: int,
        *,
        address: IPAddress,
        connect_timeout: float,
        timeout: float,
        context: ssl.SSLContext | None = None,
    ):
        self.tls_context = context or default_tls_context()
        super().__init__(host, port, timeout=timeout, context=self.tls_context)
        self.pinned_address = address
        self.connect_timeout = connect_timeout
        self.read_timeout = timeout

    def connect(self) -> None:
        sock = _connect(self.pinned_address, self.port, self.connect_timeout, self.read_timeout)
        # SNI and certificate verification use the URL's host name, not the pinned address.
        self.sock = self.tls_context.wrap_socket(sock, server_hostname=self.host)


def default_tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context
