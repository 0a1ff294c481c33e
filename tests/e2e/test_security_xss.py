"""Stored XSS in a real Chromium: the pages whose apps render user text themselves (form-js
renders form labels, bpmn-js renders element names) plus the inbox, instance and audit pages, with
each hostile payload stored everywhere (tests/security/test_xss.py builds it). No script may run
(``window.__xss`` stays unset) and the CSP must report nothing (an injected inline script or handler
that the CSP blocked would still be an escaping bug).
"""

from __future__ import annotations

import pytest

from tests.e2e.test_security_csp import COLLECT_VIOLATIONS
from tests.security import corpus as corpus_state
from tests.security.corpus import corpus, observe
from tests.security.test_xss import PAGES, PAYLOADS, build_xss_world

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), corpus("stored XSS")]


@pytest.fixture(autouse=True)
def _corpus_test(request):
    """Counted with the corpus (tests/security/plugin.py); lives here for the shared browser."""
    corpus_state.begin(request.node.nodeid)


APP_READY = {"task": ".fjs-container", "designer-edit": ".djs-container"}


@pytest.mark.parametrize(("payload", "needle"), PAYLOADS, ids=range(len(PAYLOADS)))
def test_no_stored_payload_runs_in_the_browser(browser_context, login_as, payload, needle):
    world = build_xss_world(payload)
    browser_context.add_init_script(COLLECT_VIOLATIONS)
    dialogs: list[str] = []
    ran: dict[str, object] = {}
    violations: dict[str, list] = {}
    for who in ("alex", "ada"):
        browser_context.clear_cookies()  # sign the previous viewer out
        page = browser_context.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        login_as(page, getattr(world, who))
        for name, url, viewer in PAGES:
            if viewer != who:
                continue
            response = page.goto(url(world), wait_until="load")
            observe(response.status)
            assert response.status == 200, name
            if name in APP_READY:
                page.wait_for_selector(APP_READY[name], timeout=15_000)
            page.wait_for_timeout(200)
            ran[name] = page.evaluate("() => window.__xss || null")
            found = page.evaluate("() => window.__cspViolations || []")
            if found:
                violations[name] = found
        page.close()
    assert {name: value for name, value in ran.items() if value is not None} == {}
    assert violations == {}
    assert dialogs == []
