"""HTTPS through a pinned address: TLS still verifies the URL's host name (SNI + certificate)."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from apps.connectors.base import ConnectorError
from apps.connectors.http import transport
from apps.connectors.http.connector import HttpConnector
from tests.connectors.servers import LocalServer


def _self_signed(tmp_path, name: str):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls_server(tmp_path, monkeypatch):
    """A TLS server on 127.0.0.1 with a certificate for api.flowgate.test, trusted by the test."""
    cert, key = _self_signed(tmp_path, "api.flowgate.test")
    server = LocalServer()
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    server.httpd.socket = server_context.wrap_socket(server.httpd.socket, server_side=True)

    def trusting_context():
        context = ssl.create_default_context(cafile=str(cert))
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context

    monkeypatch.setattr(transport, "default_tls_context", trusting_context)
    real = socket.getaddrinfo

    def resolve(host, port, *args, **kwargs):
        if host in {"api.flowgate.test", "other.flowgate.test"}:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    with server:
        yield server


def test_https_to_pinned_address_verifies_the_host_name(tls_server, context, settings):
    settings.FLOWGATE_HTTP_ALLOWLIST = [f"127.0.0.1:{tls_server.port}"]

    result = HttpConnector().execute(
        {"url": f"https://api.flowgate.test:{tls_server.port}/ok"}, context
    )

    assert result["status"] == 200
    assert result["json"]["idempotency_key"] == "inst-7:act-42"
    assert tls_server.recorder.requests[0].headers["Host"] == (
        f"api.flowgate.test:{tls_server.port}"
    )


def test_certificate_for_another_name_is_a_permanent_error(tls_server, context, settings):
    settings.FLOWGATE_HTTP_ALLOWLIST = [f"127.0.0.1:{tls_server.port}"]

    with pytest.raises(ConnectorError) as caught:
        HttpConnector().execute(
            {"url": f"https://other.flowgate.test:{tls_server.port}/ok"}, context
        )

    assert caught.value.permanent is True
    assert caught.value.message.startswith(
        f"GET https://other.flowgate.test:{tls_server.port}: TLS certificate verification failed"
    )
    assert tls_server.recorder.requests == []


def test_https_by_ip_literal_fails_verification(tls_server, context, settings):
    settings.FLOWGATE_HTTP_ALLOWLIST = [f"127.0.0.1:{tls_server.port}"]

    with pytest.raises(ConnectorError) as caught:
        HttpConnector().execute({"url": f"https://127.0.0.1:{tls_server.port}/ok"}, context)

    assert caught.value.permanent is True
    assert "TLS certificate verification failed" in caught.value.message


def test_a_slow_drip_over_tls_is_cut_at_the_deadline(tls_server, context, settings):
    settings.FLOWGATE_HTTP_ALLOWLIST = [f"127.0.0.1:{tls_server.port}"]
    url = f"https://api.flowgate.test:{tls_server.port}/drip-body?n=40&every=0.2"
    started = time.monotonic()
    with pytest.raises(ConnectorError) as caught:
        HttpConnector().execute({"url": url, "timeout": 1}, context)
    assert time.monotonic() - started < 1.6
    assert caught.value.permanent is False
    assert caught.value.message == (
        f"GET https://api.flowgate.test:{tls_server.port} did not finish within its 1s timeout "
        "(connecting, sending, and receiving the headers and body together); will retry."
    )
