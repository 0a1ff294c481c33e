"""http.client connections pinned to an address that was checked before connecting, and bounded
by one deadline.

The URL's host name stays in the Host header and in TLS (SNI and certificate verification); only
the TCP connection goes to the pinned IP, so a second DNS answer can never be used.

Every socket operation (connect, TLS handshake, each send and each receive) gets as its timeout
what is left of the exchange's :class:`Deadline`, so a server that trickles one byte at a time
cannot hold a worker past the step's timeout: a plain socket timeout restarts with every byte.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time

from apps.connectors.http.policy import IPAddress


class Deadline:
    """A point in time shared by every step of one exchange (DNS, connect, headers, body,
    redirects). ``remaining()`` raises TimeoutError once it has passed."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        left = self.at - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"the {self.seconds:g}s deadline passed")
        return left


class _DeadlineMixin:
    """Arms the socket's timeout with the deadline's remaining time before each operation."""

    deadline: Deadline | None = None

    def _arm(self) -> None:
        if self.deadline is not None:
            self.settimeout(self.deadline.remaining())  # type: ignore[attr-defined]

    def recv(self, *args, **kwargs):
        self._arm()
        return super().recv(*args, **kwargs)  # type: ignore[misc]

    def recv_into(self, *args, **kwargs):
        self._arm()
        return super().recv_into(*args, **kwargs)  # type: ignore[misc]

    def send(self, *args, **kwargs):
        self._arm()
        return super().send(*args, **kwargs)  # type: ignore[misc]

    def sendall(self, *args, **kwargs):
        self._arm()  # since Python 3.5 the timeout bounds the whole sendall
        return super().sendall(*args, **kwargs)  # type: ignore[misc]


class DeadlineSocket(_DeadlineMixin, socket.socket):
    pass


class DeadlineSSLSocket(_DeadlineMixin, ssl.SSLSocket):
    pass


def _connect(address: IPAddress, port: int, deadline: Deadline, connect_timeout: float):
    """Connect to exactly ``address`` (no name lookup happens here)."""
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    sock = DeadlineSocket(family, socket.SOCK_STREAM)
    try:
        sock.settimeout(min(connect_timeout, deadline.remaining()))
        sock.connect((str(address), port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(deadline.remaining())
    except BaseException:
        sock.close()
        raise
    sock.deadline = deadline
    return sock


class PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(
        self,
        host: str,
        port: int,
        *,
        address: IPAddress,
        deadline: Deadline,
        connect_timeout: float,
    ):
        super().__init__(host, port, timeout=deadline.seconds)
        self.pinned_address = address
        self.deadline = deadline
        self.connect_timeout = connect_timeout

    def connect(self) -> None:
        self.sock = _connect(self.pinned_address, self.port, self.deadline, self.connect_timeout)


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(
        self,
        host: str,
        port: int,
        *,
        address: IPAddress,
        deadline: Deadline,
        connect_timeout: float,
        context: ssl.SSLContext | None = None,
    ):
        self.tls_context = context or default_tls_context()
        self.tls_context.sslsocket_class = DeadlineSSLSocket
        super().__init__(host, port, timeout=deadline.seconds, context=self.tls_context)
        self.pinned_address = address
        self.deadline = deadline
        self.connect_timeout = connect_timeout

    def connect(self) -> None:
        sock = _connect(self.pinned_address, self.port, self.deadline, self.connect_timeout)
        # The handshake runs with the socket's timeout: what is left of the deadline.
        sock.settimeout(self.deadline.remaining())
        # SNI and certificate verification use the URL's host name, not the pinned address.
        tls = self.tls_context.wrap_socket(sock, server_hostname=self.host)
        assert isinstance(tls, DeadlineSSLSocket)  # noqa: S101 - set in __init__ above
        tls.deadline = self.deadline
        self.sock = tls


def default_tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.sslsocket_class = DeadlineSSLSocket
    return context
