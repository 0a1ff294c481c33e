"""Browser tests: a real headless Chromium (Playwright's sync API) against pytest-django's live
server. One browser per test session, a fresh context (cookies, storage) per test.

Writing an e2e test::

    import pytest
    pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

    def test_something(page, live_server, make_user, login_as, axe_check):
        login_as(page, make_user("approver"))
        page.goto("/inbox/")                      # relative to live_server.url
        assert axe_check(page) == []

The static bundles must be built (``make assets``); the test settings serve them through
whitenoise's finders, so no collectstatic is needed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# Playwright's sync API runs an asyncio loop in this thread; Django's async-safety check would
# then refuse the ORM calls that fixtures and tests make. The loop never runs Django code.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

REPO = Path(__file__).resolve().parents[2]
AXE_PATH = REPO / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = os.environ.get("FLOWGATE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
SERIOUS_IMPACTS = ("serious", "critical")


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (set FLOWGATE_CHROMIUM to its path)")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture
def browser_context(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 1280, "height": 800},
        color_scheme="light",
        locale="en-US",
    )
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.fixture
def page(browser_context):
    """A fresh page; ``page.goto("/path")`` is relative to the live server."""
    page = browser_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors  # tests may assert page.js_errors == []
    yield page
    page.close()


@pytest.fixture
def make_page(browser, live_server):
    """``make_page(color_scheme="dark", viewport=...)``: another page in its own context."""
    contexts = []

    def make(*, color_scheme: str = "light", viewport: dict | None = None):
        context = browser.new_context(
            base_url=live_server.url,
            viewport=viewport or {"width": 1280, "height": 800},
            color_scheme=color_scheme,
            locale="en-US",
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.js_errors = errors
        return page

    yield make
    for context in contexts:
        context.close()


def _login(page, user, password: str | None = None) -> None:
    from tests.factories import DEFAULT_PASSWORD

    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(password or DEFAULT_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    if "/accounts/login/" in page.url:
        raise AssertionError(f"login as {user.username!r} failed: still on {page.url}")


@pytest.fixture
def login_as():
    """``login_as(page, user, password=None)``: sign in through the login form (factory password)."""
    return _login


def _axe(page, *, context: str | None = None, impacts=SERIOUS_IMPACTS) -> list[dict]:
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated through devtools, not added as an inline <script>: the portal's CSP refuses those.
        page.evaluate(AXE_PATH.read_text(encoding="utf-8"))
    result = page.evaluate(
        """async (context) => {
            // Judge settled styles: a hovered button in the middle of its colour transition
            // has colours it never rests on (axe measured 2.27:1 on a 4.7:1 button).
            const settling = document.getAnimations().filter((a) => {
                const end = a.effect && a.effect.getComputedTiming().endTime;
                return a.playState === "running" && Number.isFinite(end);
            });
            await Promise.race([
                Promise.all(settling.map((a) => a.finished.catch(() => null))),
                new Promise((done) => setTimeout(done, 2000)),
            ]);
            const r = await window.axe.run(context || document, {resultTypes: ["violations"]});
            return r.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(" ")),
            }));
        }""",
        context,
    )
    return [v for v in result if v["impact"] in impacts]


@pytest.fixture
def axe_check():
    """``axe_check(page, context=None)`` -> serious/critical axe-core violations (a list of dicts
    with id, impact, help, nodes). ``assert axe_check(page) == []`` prints them on failure."""
    if not AXE_PATH.exists():
        pytest.fail(f"{AXE_PATH} is missing: run `make assets` (npm ci installs axe-core)")
    return _axe
