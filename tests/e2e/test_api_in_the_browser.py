"""An API URL opened in the browser: JSON (no browsable HTML renderer, whose inline styles the
CSP refuses), with no CSP violation."""

from __future__ import annotations

import pytest

from tests.e2e.test_security_csp import COLLECT_VIOLATIONS, _visit
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_api_urls_open_in_the_browser_as_json_without_csp_violations(browser_context, login_as):
    browser_context.add_init_script(COLLECT_VIOLATIONS)
    page = browser_context.new_page()
    login_as(page, UserFactory(roles=["admin"]))
    for url in ("/api/v1/", "/api/v1/processes/", "/api/v1/me/"):
        assert _visit(page, url, None) == (200, []), url
        content_type = page.evaluate("() => document.contentType")
        assert content_type == "application/json", url
