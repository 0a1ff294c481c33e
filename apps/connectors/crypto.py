"""Fernet keys for connector secrets.

``settings.FLOWGATE_SECRET_KEYS`` lists Fernet keys, newest first. Encryption always uses the
newest; decryption tries each, so rotation is: prepend a new key, run
``manage.py rotate_secrets``, then drop the old key. Without keys (development and tests only —
production settings refuse to start), a key is derived from SECRET_KEY with HKDF-SHA256 and a
warning says so.
"""

from __future__ import annotations

import base64
import logging

from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)

HKDF_SALT = b"flowgate.connectors.secrets"
HKDF_INFO = b"fernet-key-v1"
_dev_key_warned = False


def derive_dev_key(secret_key: str) -> bytes:
    """A Fernet key derived from Django's SECRET_KEY (development/test fallback only)."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=HKDF_SALT, info=HKDF_INFO).derive(
        secret_key.encode()
    )
    return base64.urlsafe_b64encode(raw)


def configured_keys() -> list[bytes]:
    keys = [k.strip() for k in settings.FLOWGATE_SECRET_KEYS if k.strip()]
    if keys:
        return [k.encode() for k in keys]
    if settings.PRODUCTION:
        raise ImproperlyConfigured(
            "FLOWGATE_SECRET_KEYS is empty; production needs at least one Fernet key "
            "(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key())')."
        )
    global _dev_key_warned
    if not _dev_key_warned:
        _dev_key_warned = True
        logger.warning(
            "FLOWGATE_SECRET_KEYS is empty: deriving the connector-secret key from SECRET_KEY "
            "(development/test only; set FLOWGATE_SECRET_KEYS in production)."
        )
    return [derive_dev_key(settings.SECRET_KEY)]


def fernet() -> MultiFernet:
    """The MultiFernet over the configured keys (first = newest = used for encryption)."""
    fernets = []
    for position, key in enumerate(configured_keys(), start=1):
        try:
            fernets.append(Fernet(key))
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"FLOWGATE_SECRET_KEYS entry #{position} is not a valid Fernet key (32 url-safe "
                "base64-encoded bytes). Generate one with Fernet.generate_key()."
            ) from exc
    return MultiFernet(fernets)
