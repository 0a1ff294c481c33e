"""List conventions: page/page_size, ordering, search, django-filter, all with 400s for bad values."""

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import User
from tests.api.helpers import assert_error

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.api.urls")]


@pytest.fixture
def client(make_user):
    client = APIClient()
    client.force_authenticate(make_user(username="aaa-viewer"))
    return client


@pytest.fixture
def thirty_users(client):  # the viewer + 29 (no password hashing: fast)
    return User.objects.bulk_create(User(username=f"u{n:02d}") for n in range(29))


def test_default_page_is_25_with_links(client, thirty_users):
    body = client.get("/api/test/users/").json()
    assert body["count"] == 30
    assert len(body["results"]) == 25
    assert body["next"] == "http://testserver/api/test/users/?page=2"
    assert body["previous"] is None
    second = client.get("/api/test/users/?page=2").json()
    assert len(second["results"]) == 5
    assert second["next"] is None
    assert second["previous"] == "http://testserver/api/test/users/"


def test_page_size_up_to_200(client, thirty_users):
    body = client.get("/api/test/users/?page_size=200").json()
    assert len(body["results"]) == 30 and body["next"] is None
    body = client.get("/api/test/users/?page_size=7&page=5").json()
    assert len(body["results"]) == 2
    assert body["previous"] == "http://testserver/api/test/users/?page=4&page_size=7"


@pytest.mark.parametrize("query", ["page_size=201", "page_size=0", "page_size=-1", "page_size=x"])
def test_bad_page_size_is_a_400(client, query):
    body = assert_error(client.get(f"/api/test/users/?{query}"), 400, "invalid")
    assert body["details"][0]["field"] == "page_size"
    assert "at most 200" in body["details"][0]["message"]


@pytest.mark.parametrize("query", ["page=0", "page=abc", "page=last", "page=1.5"])
def test_malformed_page_is_a_400(client, query):
    body = assert_error(client.get(f"/api/test/users/?{query}"), 400, "invalid")
    assert body["details"][0]["field"] == "page"


def test_page_past_the_end_is_a_404(client):
    body = assert_error(client.get("/api/test/users/?page=9"), 404, "not_found")
    assert body["message"] == "Page 9 does not exist: this list has fewer pages. Start at page 1."


def test_ordering(client, make_user):
    make_user(username="zed")
    make_user(username="bob")
    names = [
        u["username"] for u in client.get("/api/test/users/?ordering=-username").json()["results"]
    ]
    assert names == ["zed", "bob", "aaa-viewer"]
    default = [u["username"] for u in client.get("/api/test/users/").json()["results"]]
    assert default == ["aaa-viewer", "zed", "bob"]  # view default: id
    multi = client.get("/api/test/users/?ordering=username,-id").json()["results"]
    assert [u["username"] for u in multi] == ["aaa-viewer", "bob", "zed"]


@pytest.mark.parametrize("value", ["password", "-is_superuser", "username,nope", "-"])
def test_unknown_ordering_is_a_400(client, value):
    body = assert_error(client.get(f"/api/test/users/?ordering={value}"), 400, "invalid")
    assert body["details"][0]["field"] == "ordering"
    assert "Allowed: id, username" in body["details"][0]["message"]


def test_search(client, make_user):
    make_user(username="carol")
    make_user(username="caroline")
    make_user(username="dave")
    body = client.get("/api/test/users/?search=carol").json()
    assert sorted(u["username"] for u in body["results"]) == ["carol", "caroline"]


def test_search_with_a_nul_character_is_a_400_not_a_500(client):
    assert_error(client.get("/api/test/users/?search=a%00b"), 400, "invalid")


def test_ordering_ignores_empty_terms(client):
    assert client.get("/api/test/users/?ordering=,").status_code == 200


def test_django_filter_fields_and_bad_values(client, make_user):
    make_user(username="gone", is_active=False)
    body = client.get("/api/test/users/?is_active=false").json()
    assert [u["username"] for u in body["results"]] == ["gone"]
    assert User.objects.count() == 2
    body = assert_error(client.get("/api/test/users/?id=abc"), 400, "invalid")
    assert body["details"] == [{"field": "id", "message": "Enter a number.", "code": "invalid"}]
