from datetime import timedelta

import pytest
from axes.models import AccessAttempt, AccessAttemptExpiration
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _axes_on(settings):
    """django-axes is off under tests by default (see settings); these tests are about it."""
    settings.AXES_ENABLED = True


def test_login_page_renders_a_labelled_form(client):
    response = client.get(reverse("accounts:login"))
    assert response.status_code == 200
    assert b'<label class="form-label" for="id_username">Username</label>' in response.content


def test_good_credentials_log_in_and_show_the_home_page(client, make_user):
    make_user("approver", username="alice")
    response = client.post(
        reverse("accounts:login"), {"username": "alice", "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    home = client.get(reverse("home"))
    assert home.status_code == 200
    assert b'href="/inbox/"' in home.content
    assert b'href="/designer/"' not in home.content


def test_anonymous_home_redirects_to_login(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def _post_login(client, username, password, ip="10.0.0.1"):
    return client.post(
        reverse("accounts:login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def test_login_is_locked_out_by_axes_after_repeated_failures(client, make_user, settings):
    """django-axes: LOGIN_FAILURE_LIMIT (5) failures for one username from one address lock it."""
    make_user(username="bob")
    for _ in range(4):
        bad = _post_login(client, "bob", "wrong")
        assert bad.status_code == 200
        assert b"Please enter a correct username and password" in bad.content
    fifth = _post_login(client, "bob", "wrong")
    assert fifth.status_code == 429
    blocked = _post_login(client, "bob", DEFAULT_PASSWORD)
    assert blocked.status_code == 429
    assert blocked["Retry-After"] == "300"
    assert (
        b"Too many failed sign-in attempts for this account from your address." in blocked.content
    )
    assert b"Wait 5 minutes and try again" in blocked.content
    assert "_auth_user_id" not in client.session
    assert (
        AccessAttempt.objects.get(username="bob", ip_address="10.0.0.1").failures_since_start
        == 6  # the refused 6th counts too
    )


def test_lockout_is_per_username_and_address(client, make_user):
    make_user(username="bob")
    make_user(username="carol")
    for _ in range(5):
        _post_login(client, "bob", "wrong")
    assert _post_login(client, "bob", DEFAULT_PASSWORD).status_code == 429
    # The same user from another address, and another user from the same address, still sign in.
    assert _post_login(Client(), "bob", DEFAULT_PASSWORD, ip="10.0.0.2").status_code == 302
    assert _post_login(Client(), "carol", DEFAULT_PASSWORD).status_code == 302


def test_lockout_cools_off(client, make_user, settings):
    make_user(username="bob")
    for _ in range(5):
        _post_login(client, "bob", "wrong")
    assert _post_login(client, "bob", DEFAULT_PASSWORD).status_code == 429
    # Five minutes and a second later (the attempts' clock moved back instead of the wall clock).
    earlier = timezone.now() - timedelta(seconds=301)
    AccessAttempt.objects.update(attempt_time=earlier)
    AccessAttemptExpiration.objects.update(expires_at=earlier)
    assert _post_login(client, "bob", DEFAULT_PASSWORD).status_code == 302


def test_success_resets_the_failure_count(client, make_user):
    make_user(username="bob")
    for _ in range(4):
        _post_login(client, "bob", "wrong")
    assert _post_login(client, "bob", DEFAULT_PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        assert _post_login(client, "bob", "wrong").status_code == 200
    assert _post_login(client, "bob", DEFAULT_PASSWORD).status_code == 302


@pytest.mark.parametrize(
    ("role", "visible", "hidden"),
    [
        ("designer", [b'href="/designer/"'], [b'href="/admin-reports/"', b'href="/admin/"']),
        ("auditor", [b'href="/admin-reports/"'], [b'href="/designer/"', b'href="/inbox/"']),
        ("admin", [b'href="/designer/"', b'href="/admin-reports/"', b'href="/admin/"'], []),
    ],
)
def test_navigation_follows_roles(client, make_user, role, visible, hidden):
    client.force_login(make_user(role))
    content = client.get(reverse("home")).content
    for link in visible:
        assert link in content
    for link in hidden:
        assert link not in content
