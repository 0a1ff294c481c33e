"""X-Forwarded-* count only from TRUSTED_PROXIES: not for uvicorn, the login lockout, the audit
trail's client address or /metrics."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.common.proxies import client_address, trusted_networks
from apps.common.stack import web_command

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("remote", "forwarded", "trusted", "expected"),
    [
        ("127.0.0.1", "203.0.113.9", (), "127.0.0.1"),  # nobody trusted: the header is ignored
        ("198.51.100.7", "127.0.0.1", ("10.0.0.0/8",), "198.51.100.7"),  # not from a proxy
        ("10.0.0.5", "203.0.113.9", ("10.0.0.0/8",), "203.0.113.9"),
        # the client may prepend anything: only the right-most untrusted hop counts
        ("10.0.0.5", "127.0.0.1, 203.0.113.9", ("10.0.0.0/8",), "203.0.113.9"),
        ("10.0.0.5", "203.0.113.9, 10.0.0.6", ("10.0.0.0/8",), "203.0.113.9"),
        ("10.0.0.5", "not-an-ip", ("10.0.0.0/8",), "10.0.0.5"),
        ("10.0.0.5", "", ("10.0.0.0/8",), "10.0.0.5"),
    ],
)
def test_client_address(remote, forwarded, trusted, expected):
    meta = {"REMOTE_ADDR": remote, "HTTP_X_FORWARDED_FOR": forwarded}
    assert client_address(meta, trusted_networks(trusted)) == expected


@pytest.mark.django_db
def test_rotating_x_forwarded_for_does_not_escape_the_login_lockout(client, make_user, settings):
    settings.AXES_ENABLED = True
    make_user(username="bob")
    answers = [
        client.post(
            reverse("accounts:login"),
            {"username": "bob", "password": "wrong"},
            REMOTE_ADDR="127.0.0.1",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}",
        ).status_code
        for n in range(6)
    ]
    assert answers == [200, 200, 200, 200, 429, 429]


@pytest.mark.django_db
def test_the_audit_records_the_forwarded_client_only_from_a_trusted_proxy(
    client, make_user, settings
):
    make_user(username="carol")
    login = reverse("accounts:login")
    form = {"username": "carol", "password": "wrong"}
    client.post(login, form, REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="10.9.9.9")
    settings.TRUSTED_PROXIES = ["10.0.0.5"]
    client.post(login, form, REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="203.0.113.9")
    client.post(login, form, REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="10.9.9.9")
    addresses = list(
        AuditEvent.objects.filter(action="auth.login_failed")
        .order_by("position")
        .values_list("client_address", flat=True)
    )
    assert addresses == ["198.51.100.7", "203.0.113.9", "198.51.100.7"]


@pytest.mark.django_db
def test_metrics_network_check_uses_the_real_client(client, settings):
    settings.FLOWGATE_METRICS_TOKEN = ""
    # A remote client naming loopback in X-Forwarded-For is still remote.
    forged = client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="127.0.0.1")
    assert forged.status_code == 403
    # Behind a trusted same-host proxy, the proxy's loopback address is not the client.
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    proxied = client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert proxied.status_code == 403
    local = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert local.status_code == 200


def test_forwarded_headers_from_untrusted_clients_are_dropped(rf, settings):
    from apps.common.middleware import ForwardedHeadersMiddleware

    seen = {}
    middleware = ForwardedHeadersMiddleware(lambda request: seen.update(request.META) or None)
    middleware(
        rf.get(
            "/",
            REMOTE_ADDR="198.51.100.7",
            HTTP_X_FORWARDED_FOR="127.0.0.1",
            HTTP_X_FORWARDED_PROTO="https",
            HTTP_X_FORWARDED_HOST="evil.example",
        )
    )
    assert seen["REMOTE_ADDR"] == "198.51.100.7"
    assert not {"HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST"} & set(
        seen
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_uvicorn_as_started_by_run_portal_ignores_x_forwarded_for():
    port = _free_port()
    command = web_command(port=port)
    command[command.index("portal.asgi:application")] = "tests.common.asgi_echo:app"
    server = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.DEVNULL)  # noqa: S603
    try:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/", headers={"X-Forwarded-For": "203.0.113.9"}
        )
        for _ in range(100):
            try:
                with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310
                    seen = response.read().decode()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("uvicorn did not start")
    finally:
        server.terminate()
        server.wait(10)
    assert seen == "127.0.0.1"


def test_docker_web_commands_do_not_trust_forwarded_headers():
    compose = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())
    web = compose["services"]["web"]["command"]
    assert "--no-proxy-headers" in web and "--forwarded-allow-ips" not in web
    assert compose["x-app"]["environment"]["TRUSTED_PROXIES"] == "${TRUSTED_PROXIES:-}"
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    [cmd] = [line for line in dockerfile.splitlines() if line.startswith("CMD")]
    assert '"--no-proxy-headers"' in cmd and "forwarded-allow-ips" not in cmd
