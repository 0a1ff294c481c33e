import pytest
from django.urls import reverse

from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db


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


def test_login_is_throttled_after_repeated_failures(client, make_user, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    make_user(username="bob")
    for _ in range(3):
        bad = client.post(reverse("accounts:login"), {"username": "bob", "password": "wrong"})
        assert b"Please enter a correct username and password" in bad.content
    blocked = client.post(
        reverse("accounts:login"), {"username": "bob", "password": DEFAULT_PASSWORD}
    )
    assert blocked.status_code == 200
    assert b"Too many failed sign-in attempts" in blocked.content
    assert "_auth_user_id" not in client.session


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
