"""Security headers on every page (every URL pattern of the portal, walked from the resolver so a
new page is covered without editing this file), production's HSTS and cookie flags,
`check --deploy` clean, and the CSP's style-attribute hashes matching the built bundles.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tests.security.conftest import page_client
from tests.security.csp_hashes import DIST, bundle_style_attributes

REPO = Path(__file__).resolve().parents[2]

EXPECTED = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}
CSP_MUST_HAVE = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
]


def _routes(resolver=None, prefix: str = "") -> list[tuple[str, str]]:
    """(route with converters, name) of every URL pattern, recursively."""
    resolver = resolver or get_resolver()
    found = []
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            found += _routes(pattern, route)
        elif isinstance(pattern, URLPattern):
            found.append((route, pattern.name or ""))
    return found


def _concrete(route: str, world) -> str:
    """A URL for ``route``, its parameters filled with real objects of ``world``."""
    values = {
        "task_id": world.form_task.pk,
        "instance_id": world.approval.pk,
        "token_id": world.alex_token.pk,
        "version_id": world.version.pk,
        "incident_id": 1,
        "webhook_id": 1,
        "key": "expense",
        "operation": "suspend",
        "name": "smtp",
        "object_id": 1,
        "app_label": "accounts",
    }

    def fill(match: re.Match) -> str:
        return str(values.get(match.group(2), "1"))

    url = re.sub(r"<(?:(\w+):)?(\w+)>", fill, route)
    url = re.sub(r"\^|\$|\\Z", "", url)  # admin's regex routes
    url = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(values.get(m.group(1), "1")), url)
    return "/" + url.replace("\\", "")


PAGE_ROUTES = [
    (route, name)
    for route, name in _routes()
    if not route.startswith(("static/", "media/")) and "(?P<url>" not in route
]


def test_the_walk_finds_the_portal_pages():
    names = {name for _, name in PAGE_ROUTES}
    assert {"home", "list", "task", "instance", "edit", "login", "api-docs"} <= names
    assert len(PAGE_ROUTES) > 60


@pytest.mark.django_db
def test_every_url_pattern_answers_with_the_security_headers(world):
    client = page_client(world.people.ada)
    anonymous = page_client()
    missing: dict[str, object] = {}
    for route, _name in PAGE_ROUTES:
        url = _concrete(route, world)
        for who, c in (("admin", client), ("anonymous", anonymous)):
            response = c.get(url)
            if url == "/healthz":  # 503 is its answer while no worker beats (tests run none)
                assert response.status_code in (200, 503)
            else:
                assert response.status_code < 500, (url, response.status_code)
            wrong = {h: response.get(h) for h, v in EXPECTED.items() if response.get(h) != v}
            csp = response.get("Content-Security-Policy", "")
            wrong.update({d: "missing" for d in CSP_MUST_HAVE if d not in csp})
            if wrong:
                missing[f"{who} {url} ({response.status_code})"] = wrong
    assert missing == {}


@pytest.mark.django_db
def test_api_docs_load_nothing_from_another_origin(world):
    html = page_client(world.people.ada).get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    script = page_client(world.people.ada).get("/api/docs/?script=")
    assert script["Content-Type"].startswith("application/javascript")


def test_every_inline_style_attribute_of_the_bundles_is_allowed_by_hash(settings):
    if not (DIST / "designer.js").exists():
        pytest.fail("static/dist is not built: run `make assets`")
    allowed = set(settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["style-src-attr"])
    needed = bundle_style_attributes()
    assert {h: v for h, v in needed.items() if h not in allowed} == {}


def _production_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        # (the e2e conftest sets DJANGO_ALLOW_ASYNC_UNSAFE for Playwright; never in production)
        if k
        not in {
            "DATABASE_URL",
            "REDIS_URL",
            "DEBUG",
            "DJANGO_SETTINGS_MODULE",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
        }
    }
    env.update(
        DJANGO_ENV="production",
        SECRET_KEY="security-test-" + "k" * 60,
        ALLOWED_HOSTS="flowgate.example.com",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/flowgate_unused",
        FLOWGATE_SECRET_KEYS="7Hq8nWv2mVb6tq7rJmQy0sXb2c4JqJx3fYk1o9aZb0Q=",
        FLOWGATE_AUDIT_KEYS="audit-key-for-tests-only-0123456789abcdef",
    )
    return env


def test_production_settings_pass_check_deploy():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        env=_production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


PRODUCTION_PROBE = """
import django, json
django.setup()
from django.conf import settings
from django.test import Client
from django.test.utils import override_settings
# No collectstatic here: plain static storage instead of the manifest one (headers are the point).
plain_storage = {**settings.STORAGES, "staticfiles": {
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
client = Client(HTTP_HOST="flowgate.example.com")
with override_settings(STORAGES=plain_storage):
    plain = client.get("/accounts/login/")
    tls = client.get("/accounts/login/", secure=True)
print(json.dumps({
    "plain_status": plain.status_code, "plain_location": plain.get("Location"),
    "hsts": tls.get("Strict-Transport-Security"), "csp": tls.get("Content-Security-Policy"),
    "csrf_cookie": tls.cookies["csrftoken"]["secure"] if "csrftoken" in tls.cookies else None,
    "session_secure": settings.SESSION_COOKIE_SECURE,
}))
"""


def test_production_redirects_to_tls_and_sends_hsts():
    result = subprocess.run(
        [sys.executable, "-c", PRODUCTION_PROBE],
        cwd=REPO,
        env={**_production_env(), "DJANGO_SETTINGS_MODULE": "portal.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    import json

    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["plain_status"] == 301
    assert seen["plain_location"] == "https://flowgate.example.com/accounts/login/"
    assert seen["hsts"] == "max-age=31536000; includeSubDomains; preload"
    assert "default-src 'self'" in seen["csp"]
    assert seen["csrf_cookie"] is True
    assert seen["session_secure"] is True
