"""HasRole and the ApiView defaults."""

import pytest
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.test import APIClient

from apps.accounts.authentication import TokenAuthentication
from apps.accounts.roles import Role
from apps.common.api import ApiView, HasRole
from tests.api.helpers import assert_error, token_client, token_for

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.api.urls")]


def test_api_view_defaults():
    view = ApiView()
    assert [type(a) for a in view.get_authenticators()] == [
        TokenAuthentication,
        SessionAuthentication,
    ]
    assert [type(p) for p in view.get_permissions()] == [IsAuthenticated]


def test_has_role_needs_a_role():
    with pytest.raises(ValueError):
        HasRole()


def test_has_role_is_named_after_its_roles():
    assert HasRole(Role.DESIGNER, Role.ADMIN).__name__ == "HasRole(designer, admin)"


def test_anonymous_is_401():
    assert_error(APIClient().get("/api/test/designers/"), 401, "not_authenticated")


@pytest.mark.parametrize("roles", [(), ("approver",), ("auditor", "manager")])
def test_without_the_role_is_403_with_a_helpful_message(make_user, roles):
    _, key = token_for(make_user(*roles))
    body = assert_error(token_client(key).get("/api/test/designers/"), 403, "role_required")
    assert body["message"] == (
        "This needs the role designer or admin; ask an admin if you should have it."
    )


@pytest.mark.parametrize("roles", [("designer",), ("admin",), ("approver", "designer")])
def test_with_one_of_the_roles_is_allowed(make_user, roles):
    _, key = token_for(make_user(*roles))
    assert token_client(key).get("/api/test/designers/").json() == {"ok": True}


def test_superuser_counts_as_admin(make_user):
    _, key = token_for(make_user(is_superuser=True))
    assert token_client(key).get("/api/test/designers/").status_code == 200
