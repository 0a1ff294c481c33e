"""The profile page: list, create (key shown once), revoke API tokens in the browser flow."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from apps.accounts.models import ApiToken
from apps.accounts.services import api_token_hash
from tests.api.helpers import token_client, token_for
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

KEY_RE = re.compile(rb'id="new-token-key" class="form-control font-monospace" value="(fg_[^"]+)"')


def _signed_in(user, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    assert client.login(username=user.username, password=DEFAULT_PASSWORD)
    return client


def test_profile_shows_empty_state_and_the_create_form(make_user):
    response = _signed_in(make_user()).get("/accounts/profile/")
    assert response.status_code == 200
    assert b'id="no-tokens"' in response.content
    assert b'action="/accounts/profile/tokens/"' in response.content
    assert b'<label class="form-label" for="id_name">Name</label>' in response.content


def test_create_shows_the_key_once_and_it_works(make_user):
    user = make_user()
    client = _signed_in(user)
    expires_on = timezone.localdate() + timedelta(days=7)
    response = client.post(
        "/accounts/profile/tokens/", {"name": "laptop script", "expires_on": expires_on.isoformat()}
    )
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    match = KEY_RE.search(response.content)
    assert match, response.content
    key = match.group(1).decode()
    token = ApiToken.objects.get(user=user)
    assert token.name == "laptop script"
    assert token.key_hash == api_token_hash(key)
    assert timezone.localtime(token.expires_at).date() == expires_on + timedelta(days=1)
    assert b'data-copy-target="new-token-key"' in response.content
    assert b"shown only this once" in response.content
    # the key works and is never shown again
    assert token_client(key).get("/api/v1/me/").status_code == 200
    again = client.get("/accounts/profile/")
    assert key.encode() not in again.content
    assert f"fg_{token.prefix}_…".encode() in again.content
    assert b"laptop script" in again.content


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": ""}, b"This field is required."),
        ({"name": "x", "expires_on": "2001-01-01"}, b"Pick today or a later day"),
        ({"name": "x", "expires_on": "9999-12-31"}, b"at most ten years ahead"),
        ({"name": "x", "expires_on": "not a date"}, b"Enter a valid date."),
    ],
)
def test_invalid_create_shows_errors_and_creates_nothing(make_user, data, message):
    response = _signed_in(make_user()).post("/accounts/profile/tokens/", data)
    assert response.status_code == 400
    assert message in response.content
    assert not KEY_RE.search(response.content)
    assert ApiToken.objects.count() == 0


def test_revoke_from_the_profile(make_user):
    user = make_user()
    token, key = token_for(user, name="old script")
    client = _signed_in(user)
    page = client.get("/accounts/profile/")
    assert f'action="/accounts/profile/tokens/{token.pk}/revoke/"'.encode() in page.content
    response = client.post(f"/accounts/profile/tokens/{token.pk}/revoke/", follow=True)
    assert response.redirect_chain == [("/accounts/profile/", 302)]
    assert "API token “old script” revoked.".encode() in response.content
    assert b'text-bg-secondary">revoked' in response.content
    assert f'action="/accounts/profile/tokens/{token.pk}/revoke/"'.encode() not in response.content
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert token_client(key).get("/api/v1/me/").status_code == 401


def test_revoke_needs_post_and_csrf(make_user):
    user = make_user()
    token, _ = token_for(user)
    client = _signed_in(user, csrf=True)
    assert client.get(f"/accounts/profile/tokens/{token.pk}/revoke/").status_code == 405
    assert client.post(f"/accounts/profile/tokens/{token.pk}/revoke/").status_code == 403
    assert client.post("/accounts/profile/tokens/", {"name": "x"}).status_code == 403
    token.refresh_from_db()
    assert token.revoked_at is None
    assert ApiToken.objects.count() == 1


def test_someone_elses_token_cannot_be_revoked_from_the_profile(make_user):
    owner, other = make_user(), make_user("admin")
    token, _ = token_for(owner)
    response = _signed_in(other).post(f"/accounts/profile/tokens/{token.pk}/revoke/")
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_anonymous_is_sent_to_login_and_nothing_changes(make_user):
    owner = make_user()
    token, _ = token_for(owner)
    client = Client()
    for response in (
        client.get("/accounts/profile/"),
        client.post("/accounts/profile/tokens/", {"name": "x"}),
        client.post(f"/accounts/profile/tokens/{token.pk}/revoke/"),
    ):
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    token.refresh_from_db()
    assert token.revoked_at is None
    assert ApiToken.objects.count() == 1


def test_profile_lists_only_own_tokens_with_status(make_user):
    me, other = make_user(), make_user()
    token_for(me, name="active one")
    expired, _ = token_for(me, name="expired one")
    ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(days=1))
    token_for(other, name="not mine")
    content = _signed_in(me).get("/accounts/profile/").content
    assert b"active one" in content and b"expired one" in content
    assert b"not mine" not in content
    assert b'text-bg-success">active' in content
    assert b'text-bg-warning">expired' in content
