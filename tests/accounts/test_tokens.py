"""API tokens: services, authentication (Token + Bearer), revocation, expiry, the tokens API."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.authentication import TokenAuthentication
from apps.accounts.models import ApiToken
from apps.accounts.selectors import api_token_for_key
from apps.accounts.services import (
    api_token_create,
    api_token_hash,
    api_token_revoke,
    api_token_touch,
)
from apps.audit.actions import AuditAction
from apps.audit.models import AuditEvent
from apps.common.errors import AccessDenied, Conflict, InvalidInput
from tests.api.helpers import assert_error, token_client, token_for

pytestmark = pytest.mark.django_db


# --- services --------------------------------------------------------------------------------------


def test_create_returns_a_key_shown_once_and_stores_only_its_hash(make_user):
    user = make_user(username="ann")
    token, key = api_token_create(user=user, name="  nightly import ")
    assert key.startswith(f"fg_{token.prefix}_")
    prefix, secret = key[3:11], key[12:]
    assert prefix == token.prefix and len(prefix) == 8 and prefix.isalnum()
    assert len(secret) == 40 and secret.isalnum()
    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.name == "nightly import"
    assert stored.key_hash == api_token_hash(key)
    assert key not in str(
        ApiToken.objects.filter(pk=token.pk).values().get()
    )  # the key itself is nowhere in the row
    assert (stored.revoked_at, stored.expires_at, stored.last_used_at) == (None, None, None)


def test_create_writes_an_audit_event(make_user):
    user = make_user(username="ann")
    token, key = api_token_create(user=user, name="ci")
    event = AuditEvent.objects.get(action=AuditAction.TOKEN_CREATED.value)
    assert (event.actor_kind, event.actor_id) == ("user", str(user.pk))
    assert event.after["token_id"] == token.pk
    assert event.after["name"] == "ci"
    assert event.after["prefix"] == token.prefix
    assert key not in str(event.after) and token.key_hash not in str(event.after)


@pytest.mark.parametrize(
    ("name", "expires_delta", "field"),
    [
        ("", None, "name"),
        ("   ", None, "name"),
        ("x" * 101, None, "name"),
        ("ok", -1, "expires_at"),
    ],
)
def test_create_refuses_bad_input_and_creates_nothing(make_user, name, expires_delta, field):
    user = make_user()
    expires_at = timezone.now() + timedelta(seconds=expires_delta) if expires_delta else None
    with pytest.raises(InvalidInput) as caught:
        api_token_create(user=user, name=name, expires_at=expires_at)
    assert caught.value.details[0]["field"] == field
    assert ApiToken.objects.count() == 0
    assert not AuditEvent.objects.filter(action=AuditAction.TOKEN_CREATED.value).exists()


def test_revoke_sets_revoked_at_and_audits(make_user):
    user = make_user()
    token, _ = token_for(user)
    revoked = api_token_revoke(token=token, actor=user)
    assert revoked.revoked_at is not None
    event = AuditEvent.objects.get(action=AuditAction.TOKEN_REVOKED.value)
    assert (event.actor_kind, event.actor_id) == ("user", str(user.pk))
    assert event.before["revoked_at"] is None
    assert event.after["revoked_at"] == revoked.revoked_at.isoformat()


def test_revoke_twice_is_a_conflict(make_user):
    user = make_user()
    token, _ = token_for(user)
    api_token_revoke(token=token, actor=user)
    with pytest.raises(Conflict):
        api_token_revoke(token=token, actor=user)
    assert AuditEvent.objects.filter(action=AuditAction.TOKEN_REVOKED.value).count() == 1


def test_only_owner_or_admin_may_revoke(make_user):
    owner, other, admin = make_user(), make_user("designer"), make_user("admin")
    token, _ = token_for(owner)
    with pytest.raises(AccessDenied):
        api_token_revoke(token=token, actor=other)
    token.refresh_from_db()
    assert token.revoked_at is None
    api_token_revoke(token=token, actor=admin)
    event = AuditEvent.objects.get(action=AuditAction.TOKEN_REVOKED.value)
    assert event.actor_id == str(admin.pk)
    assert event.on_behalf_of == owner.username


def test_lookup_by_key(make_user):
    token, key = token_for(make_user())
    assert api_token_for_key(key) == token
    assert api_token_for_key(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert api_token_for_key("fg_short_x") is None
    assert api_token_for_key("not-a-flowgate-key") is None
    assert api_token_for_key(f"fg_{token.prefix}_") is None


def test_touch_writes_at_most_once_a_minute(make_user):
    token, _ = token_for(make_user())
    t0 = timezone.now()
    assert api_token_touch(token=token, at=t0) is True
    assert api_token_touch(token=token, at=t0 + timedelta(seconds=59)) is False
    token.refresh_from_db()
    assert token.last_used_at == t0
    assert api_token_touch(token=token, at=t0 + timedelta(seconds=60)) is True
    token.refresh_from_db()
    assert token.last_used_at == t0 + timedelta(seconds=60)


def test_touch_with_a_stale_copy_does_not_write_twice(make_user):
    token, _ = token_for(make_user())
    stale = ApiToken.objects.get(pk=token.pk)
    t0 = timezone.now()
    assert api_token_touch(token=token, at=t0) is True
    # another request held an older copy (last_used_at None) a few seconds later
    assert api_token_touch(token=stale, at=t0 + timedelta(seconds=5)) is False
    token.refresh_from_db()
    assert token.last_used_at == t0


# --- authentication ----------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["Token", "Bearer", "token", "bearer"])
def test_token_and_bearer_schemes_authenticate(make_user, scheme):
    user = make_user("approver", username="bot")
    token, key = token_for(user)
    response = token_client(key, scheme=scheme).get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json() == {
        "id": user.pk,
        "username": "bot",
        "full_name": "",
        "email": "bot@example.test",
        "roles": ["approver"],
        "authenticated_by": "token",
    }


def test_request_auth_is_the_token(make_user, rf):
    token, key = token_for(make_user())
    request = rf.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {key}")
    user, auth = TokenAuthentication().authenticate(request)
    assert user == token.user
    assert isinstance(auth, ApiToken) and auth.pk == token.pk


def test_session_authentication_still_works(make_user):
    client = APIClient()
    client.force_login(make_user(username="web"))
    response = client.get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["authenticated_by"] == "session"


@pytest.mark.parametrize(
    "header",
    [
        "Token fg_AAAAAAAA_doesnotexist",
        "Token",
        "Bearer a b",
        "Token not-a-flowgate-key",
    ],
)
def test_bad_credentials_are_401(make_user, header):
    token_for(make_user())
    response = APIClient().get("/api/v1/me/", HTTP_AUTHORIZATION=header)
    assert_error(response, 401, "authentication_failed")
    assert response["WWW-Authenticate"] == 'Token realm="api"'


def test_revocation_takes_effect_on_the_very_next_request(make_user):
    user = make_user()
    token, key = token_for(user)
    client = token_client(key)
    assert client.get("/api/v1/me/").status_code == 200
    api_token_revoke(token=token, actor=user)
    body = assert_error(client.get("/api/v1/me/"), 401, "token_revoked")
    assert "revoked" in body["message"]


def test_revoking_through_the_api_stops_the_same_token_immediately(make_user):
    user = make_user()
    token, key = token_for(user)
    client = token_client(key)
    assert client.delete(f"/api/v1/tokens/{token.pk}/").status_code == 204
    assert_error(client.get("/api/v1/me/"), 401, "token_revoked")
    event = AuditEvent.objects.get(action=AuditAction.TOKEN_REVOKED.value)
    assert (event.actor_kind, event.actor_id) == ("token", str(token.pk))


def test_expired_token_is_refused(make_user):
    token, key = token_for(make_user(), expires_at=timezone.now() + timedelta(hours=1))
    assert token_client(key).get("/api/v1/me/").status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    body = assert_error(token_client(key).get("/api/v1/me/"), 401, "token_expired")
    assert "expired" in body["message"]


def test_token_of_a_deactivated_user_is_refused(make_user):
    user = make_user()
    _, key = token_for(user)
    user.is_active = False
    user.save()
    assert_error(token_client(key).get("/api/v1/me/"), 401, "authentication_failed")


def test_last_used_at_is_recorded_at_most_once_a_minute(make_user):
    token, key = token_for(make_user())
    client = token_client(key)
    client.get("/api/v1/me/")
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None
    client.get("/api/v1/me/")
    token.refresh_from_db()
    assert token.last_used_at == first
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - timedelta(minutes=2))
    client.get("/api/v1/me/")
    token.refresh_from_db()
    assert token.last_used_at > first


# --- the tokens API ------------------------------------------------------------------------------------


def test_list_shows_only_own_tokens_without_keys(make_user):
    me, other = make_user(), make_user()
    mine, key = token_for(me, name="mine")
    token_for(other, name="theirs")
    response = token_client(key).get("/api/v1/tokens/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1 and body["next"] is None and body["previous"] is None
    (row,) = body["results"]
    assert row["id"] == mine.pk and row["name"] == "mine" and row["status"] == "active"
    assert set(row) == {
        "id", "name", "prefix", "status", "created_at", "last_used_at", "expires_at", "revoked_at"
    }  # fmt: skip


def test_list_search_and_ordering(make_user):
    me = make_user()
    for name in ("beta", "alpha", "gamma"):
        token_for(me, name=name)
    client = APIClient()
    client.force_login(me)
    names = [r["name"] for r in client.get("/api/v1/tokens/?ordering=name").json()["results"]]
    assert names == ["alpha", "beta", "gamma"]
    names = [r["name"] for r in client.get("/api/v1/tokens/?ordering=-name").json()["results"]]
    assert names == ["gamma", "beta", "alpha"]
    found = client.get("/api/v1/tokens/?search=amm").json()
    assert [r["name"] for r in found["results"]] == ["gamma"]


def test_create_through_the_api_with_a_session(make_user):
    me = make_user()
    client = APIClient()
    client.force_login(me)
    expires = (timezone.now() + timedelta(days=30)).replace(microsecond=0)
    response = client.post(
        "/api/v1/tokens/", {"name": "deploy bot", "expires_at": expires.isoformat()}
    )
    assert response.status_code == 201
    body = response.json()
    token = ApiToken.objects.get(pk=body["id"])
    assert token.user == me and token.name == "deploy bot" and token.expires_at == expires
    assert body["key"].startswith(f"fg_{token.prefix}_")
    assert token_client(body["key"]).get("/api/v1/me/").status_code == 200


def test_a_token_cannot_create_tokens(make_user):
    _, key = token_for(make_user())
    response = token_client(key).post("/api/v1/tokens/", {"name": "successor"})
    assert_error(response, 403, "session_required")
    assert ApiToken.objects.count() == 1


def test_create_with_past_expiry_is_a_400(make_user):
    client = APIClient()
    client.force_login(make_user())
    past = (timezone.now() - timedelta(days=1)).isoformat()
    body = assert_error(
        client.post("/api/v1/tokens/", {"name": "x", "expires_at": past}), 400, "invalid"
    )
    assert body["details"][0]["field"] == "expires_at"
    assert ApiToken.objects.count() == 0


# --- permissions: anonymous, other user, owner -----------------------------------------------------


def test_anonymous_cannot_list_create_or_revoke(make_user):
    owner = make_user()
    token, _ = token_for(owner)
    anon = APIClient()
    assert_error(anon.get("/api/v1/tokens/"), 401, "not_authenticated")
    assert_error(anon.post("/api/v1/tokens/", {"name": "x"}), 401, "not_authenticated")
    assert_error(anon.delete(f"/api/v1/tokens/{token.pk}/"), 401, "not_authenticated")
    assert_error(anon.get("/api/v1/me/"), 401, "not_authenticated")
    token.refresh_from_db()
    assert token.revoked_at is None
    assert ApiToken.objects.count() == 1


def test_other_user_cannot_revoke_and_sees_404(make_user):
    owner, other = make_user(), make_user("admin")
    token, _ = token_for(owner)
    _, other_key = token_for(other)
    response = token_client(other_key).delete(f"/api/v1/tokens/{token.pk}/")
    assert_error(response, 404, "not_found")
    token.refresh_from_db()
    assert token.revoked_at is None
    assert not AuditEvent.objects.filter(action=AuditAction.TOKEN_REVOKED.value).exists()


def test_owner_revokes_and_a_second_revoke_is_409(make_user):
    owner = make_user()
    token, _ = token_for(owner)
    client = APIClient()
    client.force_login(owner)
    assert client.delete(f"/api/v1/tokens/{token.pk}/").status_code == 204
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert_error(client.delete(f"/api/v1/tokens/{token.pk}/"), 409, "already_revoked")


def test_session_writes_need_csrf(make_user):
    owner = make_user()
    token, _ = token_for(owner)
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(owner)
    body = assert_error(client.delete(f"/api/v1/tokens/{token.pk}/"), 403, "forbidden")
    assert "CSRF" in body["message"]
    token.refresh_from_db()
    assert token.revoked_at is None


# --- Django admin ---------------------------------------------------------------------------------


def test_admin_lists_tokens_without_hashes_and_revokes_through_the_service(make_user):
    from django.test import Client

    admin_user = make_user("admin", is_staff=True, is_superuser=True)
    owner = make_user(username="owner")
    token, _ = token_for(owner, name="owner's script")
    client = Client()
    client.force_login(admin_user)
    listing = client.get("/admin/accounts/apitoken/")
    assert listing.status_code == 200
    assert b"owner&#x27;s script" in listing.content
    assert token.key_hash.encode() not in listing.content
    response = client.post(
        "/admin/accounts/apitoken/",
        {"action": "revoke_selected", "_selected_action": [token.pk]},
        follow=True,
    )
    assert b"Revoked 1 API token(s)." in response.content
    token.refresh_from_db()
    assert token.revoked_at is not None
    event = AuditEvent.objects.get(action=AuditAction.TOKEN_REVOKED.value)
    assert (event.actor_id, event.on_behalf_of) == (str(admin_user.pk), "owner")
