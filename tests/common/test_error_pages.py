"""The portal's own error pages (in the portal layout), also for a failed CSRF check."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

LAYOUT = b'<nav class="navbar'


def test_a_form_posted_without_the_csrf_cookie_gets_the_portal_page():
    response = Client(enforce_csrf_checks=True).post(
        "/accounts/login/", {"username": "a", "password": "b"}
    )
    assert response.status_code == 403
    assert LAYOUT in response.content
    assert b"<title>Form expired \xc2\xb7 Flowgate</title>" in response.content
    assert b"Allow cookies for this site, then reload the page" in response.content
    assert b"CSRF verification failed" not in response.content


def test_a_form_posted_with_a_stale_token_gets_the_portal_page():
    client = Client(enforce_csrf_checks=True)
    client.get("/accounts/login/")  # sets the csrftoken cookie
    response = client.post(
        "/accounts/login/", {"username": "a", "password": "b", "csrfmiddlewaretoken": "x" * 64}
    )
    assert response.status_code == 403
    assert LAYOUT in response.content
    assert b"Go back, reload the page and submit the form again." in response.content


def test_not_found_and_forbidden_pages_use_the_portal_layout(client, make_user):
    missing = client.get("/no-such-page/")
    assert missing.status_code == 404
    assert LAYOUT in missing.content
    assert b"<title>Page not found \xc2\xb7 Flowgate</title>" in missing.content
    client.force_login(make_user("approver"))
    forbidden = client.get("/admin-reports/audit/")
    assert forbidden.status_code == 403
    assert LAYOUT in forbidden.content


def test_a_bad_request_page_uses_the_portal_layout(client):
    response = client.get("/accounts/login/", HTTP_HOST="not-allowed.example")
    assert response.status_code == 400
    assert LAYOUT in response.content
    assert b"<title>Bad request \xc2\xb7 Flowgate</title>" in response.content


def test_a_too_large_form_gets_the_portal_page_with_the_limit(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = client.post("/accounts/login/", {"username": "x" * 2000, "password": "y"})
    assert response.status_code == 413
    assert LAYOUT in response.content
    assert b"The request body is too large: the limit is 1,000 bytes." in response.content
