"""The embedded default as `make run` starts it (DJANGO_ENV=development, DEBUG not set): the
portal's own error pages, styled (static files served with DEBUG off), never Django's technical
404 or debug CSRF page."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from apps.common.stack import web_command

pytestmark = [pytest.mark.e2e, pytest.mark.embedded]
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def embedded_url(tmp_path_factory):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "TEST_DATABASE_NAME"}}
    env.update(
        DJANGO_ENV="development",
        DATABASE_URL="",
        REDIS_URL="",
        FLOWGATE_VAR_DIR=str(tmp_path_factory.mktemp("embedded-var")),
    )
    server = subprocess.Popen(  # noqa: S603
        web_command(port=port), cwd=REPO, env=env, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{url}/static/app.css", timeout=2).close()  # noqa: S310
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the embedded web server did not start")
        yield url
    finally:
        server.terminate()
        server.wait(10)


@pytest.fixture
def embedded_page(browser, embedded_url):
    context = browser.new_context(base_url=embedded_url)
    page = context.new_page()
    yield page
    context.close()


def styled(page) -> bool:
    """app.css loaded: the navbar gets Bootstrap's flex layout."""
    return page.locator("nav.navbar").evaluate("el => getComputedStyle(el).display") == "flex"


def test_a_missing_page_is_the_portals_404_styled(embedded_page):
    response = embedded_page.goto("/no-such-page/")
    assert response.status == 404
    assert embedded_page.title() == "Page not found · Flowgate"
    assert embedded_page.locator("h1").inner_text() == "Page not found"
    assert "URLconf" not in embedded_page.content()  # Django's technical 404
    assert styled(embedded_page)


def test_a_failed_csrf_check_is_the_portals_page_styled(embedded_page):
    embedded_page.goto("/accounts/login/")
    embedded_page.context.clear_cookies()  # as when the session and its CSRF cookie are gone
    with embedded_page.expect_navigation() as navigation:
        embedded_page.fill("#id_username", "someone")
        embedded_page.fill("#id_password", "secret")
        embedded_page.locator("form button[type=submit]").last.click()
    assert navigation.value.status == 403
    assert embedded_page.title() == "Form expired · Flowgate"
    assert "CSRF verification failed" not in embedded_page.content()
    assert styled(embedded_page)
