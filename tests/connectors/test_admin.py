"""Django admin for secrets: the value is write-only."""

from __future__ import annotations

import pytest

from apps.connectors.models import Secret
from apps.connectors.services import secret_reveal, secret_set
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

VALUE = "admin-entered-secret-99"


@pytest.fixture
def admin_client(client, make_user):
    user = make_user("admin", username="super", is_staff=True, is_superuser=True)
    client.login(username=user.username, password=DEFAULT_PASSWORD)
    client.user = user
    return client


def test_add_secret_through_admin(admin_client):
    response = admin_client.post(
        "/admin/connectors/secret/add/", {"name": "smtp-password", "value": VALUE}
    )

    assert response.status_code == 302
    secret = Secret.objects.get(name="smtp-password")
    assert secret.created_by == admin_client.user
    assert secret_reveal("smtp-password") == VALUE


def test_change_page_never_shows_the_value(admin_client):
    secret = secret_set(name="smtp-password", value=VALUE, actor_user=admin_client.user)

    page = admin_client.get(f"/admin/connectors/secret/{secret.pk}/change/").content.decode()
    listing = admin_client.get("/admin/connectors/secret/").content.decode()

    assert VALUE not in page and secret.ciphertext not in page
    assert "set ✓" in page and "set ✓" in listing


def test_change_with_empty_value_keeps_it_and_new_value_replaces_it(admin_client):
    secret = secret_set(name="smtp-password", value=VALUE, actor_user=admin_client.user)
    url = f"/admin/connectors/secret/{secret.pk}/change/"

    assert admin_client.post(url, {"value": ""}).status_code == 302
    assert secret_reveal("smtp-password") == VALUE
    assert admin_client.post(url, {"value": "new-value"}).status_code == 302
    assert secret_reveal("smtp-password") == "new-value"


def test_add_requires_a_value_and_a_valid_name(admin_client):
    no_value = admin_client.post("/admin/connectors/secret/add/", {"name": "x", "value": ""})
    bad_name = admin_client.post("/admin/connectors/secret/add/", {"name": "X Y", "value": "v"})

    assert no_value.status_code == 200 and bad_name.status_code == 200
    assert not Secret.objects.exists()


def test_delete_through_admin(admin_client):
    secret = secret_set(name="smtp-password", value=VALUE, actor_user=admin_client.user)

    response = admin_client.post(f"/admin/connectors/secret/{secret.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not Secret.objects.exists()
