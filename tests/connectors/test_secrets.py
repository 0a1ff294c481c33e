from __future__ import annotations

import base64
import json
import logging

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command

from apps.audit.models import AuditEvent
from apps.common.errors import InvalidInput, NotFound, Unprocessable
from apps.connectors.crypto import derive_dev_key
from apps.connectors.models import Secret
from apps.connectors.services import secret_delete, secret_reveal, secret_set, secrets_rotate

pytestmark = pytest.mark.django_db

VALUE = "sk_live_Very-Secret-Value-123"
OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


@pytest.fixture
def admin(make_user):
    return make_user("admin", username="root")


def _all_audit_text() -> str:
    return json.dumps(
        list(AuditEvent.objects.values("data", "before", "after", "actor_label")), default=str
    )


def test_value_is_encrypted_at_rest_and_readable_by_connectors(admin, settings):
    settings.FLOWGATE_SECRET_KEYS = [OLD_KEY]

    secret_set(name="billing-key", value=VALUE, actor_user=admin)

    stored = Secret.objects.get(name="billing-key").ciphertext
    assert VALUE not in stored
    assert base64.b64encode(VALUE.encode()).decode()[:12] not in stored
    assert Fernet(OLD_KEY.encode()).decrypt(stored.encode()).decode() == VALUE  # key from env
    assert secret_reveal("billing-key") == VALUE


def test_set_again_replaces_the_value_and_audits_without_it(admin, settings, caplog):
    settings.FLOWGATE_SECRET_KEYS = [OLD_KEY]
    caplog.set_level(logging.DEBUG)

    secret_set(name="billing-key", value=VALUE, actor_user=admin)
    secret_set(name="billing-key", value=VALUE + "-2", actor_user=admin)
    secret_delete(name="billing-key", actor_user=admin)

    events = list(AuditEvent.objects.filter(action="connector.secret_changed").order_by("position"))
    assert [e.data for e in events] == [
        {"secret": "billing-key", "operation": "created"},
        {"secret": "billing-key", "operation": "updated"},
        {"secret": "billing-key", "operation": "deleted"},
    ]
    assert {e.actor_label for e in events} == {"root"}
    assert VALUE not in _all_audit_text()
    assert VALUE not in caplog.text
    assert not Secret.objects.exists()


def test_rotation_reencrypts_with_the_newest_key(admin, settings):
    settings.FLOWGATE_SECRET_KEYS = [OLD_KEY]
    secret_set(name="a", value="value-a", actor_user=admin)
    secret_set(name="b", value="value-b", actor_user=admin)
    before = dict(Secret.objects.values_list("name", "ciphertext"))

    settings.FLOWGATE_SECRET_KEYS = [NEW_KEY, OLD_KEY]
    assert secrets_rotate() == 2

    after = dict(Secret.objects.values_list("name", "ciphertext"))
    assert all(after[name] != before[name] for name in before)
    settings.FLOWGATE_SECRET_KEYS = [NEW_KEY]  # old key retired
    assert (secret_reveal("a"), secret_reveal("b")) == ("value-a", "value-b")
    rotated = AuditEvent.objects.filter(action="connector.secret_changed").last()
    assert rotated.data == {"operation": "rotated", "secrets": ["a", "b"]}
    assert rotated.actor_label == "rotate_secrets"


def test_rotate_secrets_command(admin, settings):
    settings.FLOWGATE_SECRET_KEYS = [OLD_KEY]
    secret_set(name="a", value="value-a", actor_user=admin)
    settings.FLOWGATE_SECRET_KEYS = [NEW_KEY, OLD_KEY]
    out = []

    call_command("rotate_secrets", stdout=type("W", (), {"write": lambda self, s: out.append(s)})())

    assert out == ["Re-encrypted 1 secret(s) with the newest key.\n"]
    token = Secret.objects.get(name="a").ciphertext
    assert Fernet(NEW_KEY.encode()).decrypt(token.encode()) == b"value-a"


def test_removed_key_gives_a_clear_error_and_rotation_changes_nothing(admin, settings):
    settings.FLOWGATE_SECRET_KEYS = [OLD_KEY]
    secret_set(name="a", value="value-a", actor_user=admin)
    stored = Secret.objects.get(name="a").ciphertext
    settings.FLOWGATE_SECRET_KEYS = [NEW_KEY]

    with pytest.raises(Unprocessable) as reveal_error:
        secret_reveal("a")
    with pytest.raises(Unprocessable) as rotate_error:
        secrets_rotate()

    assert "the key it was encrypted with was removed" in reveal_error.value.message
    assert rotate_error.value.message == (
        "Cannot rotate: these secrets are not readable with any configured key: a. "
        "Nothing was changed."
    )
    assert Secret.objects.get(name="a").ciphertext == stored


def test_without_configured_keys_a_key_is_derived_from_secret_key(admin, settings, caplog):
    settings.FLOWGATE_SECRET_KEYS = []
    settings.SECRET_KEY = "test-secret-key-for-hkdf-derivation-0123456789-abcdefghijkl"
    caplog.set_level(logging.WARNING)
    import apps.connectors.crypto as crypto

    crypto._dev_key_warned = False

    secret_set(name="dev", value="dev-value", actor_user=admin)

    token = Secret.objects.get(name="dev").ciphertext.encode()
    assert Fernet(derive_dev_key(settings.SECRET_KEY)).decrypt(token) == b"dev-value"
    assert "deriving the connector-secret key from SECRET_KEY" in caplog.text


def test_production_without_keys_refuses(settings):
    from django.core.exceptions import ImproperlyConfigured

    from apps.connectors.crypto import fernet

    settings.FLOWGATE_SECRET_KEYS = []
    settings.PRODUCTION = True
    with pytest.raises(ImproperlyConfigured):
        fernet()


def test_invalid_key_is_a_configuration_error(settings):
    from django.core.exceptions import ImproperlyConfigured

    from apps.connectors.crypto import fernet

    settings.FLOWGATE_SECRET_KEYS = ["not-a-fernet-key"]
    with pytest.raises(ImproperlyConfigured) as caught:
        fernet()
    assert "FLOWGATE_SECRET_KEYS entry #1 is not a valid Fernet key" in str(caught.value)


@pytest.mark.parametrize("name", ["", "Upper", "has space", "-lead", "x" * 101, "a/b"])
def test_invalid_names_are_refused(name, admin):
    with pytest.raises(InvalidInput):
        secret_set(name=name, value="v", actor_user=admin)
    assert not Secret.objects.exists()
    assert not AuditEvent.objects.filter(action="connector.secret_changed").exists()


def test_empty_value_is_refused(admin):
    with pytest.raises(InvalidInput) as caught:
        secret_set(name="a", value="", actor_user=admin)
    assert caught.value.message == "A secret needs a non-empty value."


def test_unknown_secret(admin):
    with pytest.raises(NotFound):
        secret_reveal("missing")
    with pytest.raises(NotFound):
        secret_delete(name="missing", actor_user=admin)


def test_repr_never_shows_ciphertext(admin):
    secret = secret_set(name="a", value=VALUE, actor_user=admin)
    assert repr(secret) == "<Secret 'a'>"
    assert str(secret) == "a"
