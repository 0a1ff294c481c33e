"""The keys that prove an audit event was written by Flowgate's writer, ``record()``.

Each event carries a writer MAC: HMAC-SHA256, under a key the database does not hold, over the
event's content (``apps.audit.chain.mac_bytes``). A row inserted into the table by SQL cannot
carry a valid one, so the linker refuses to chain it and every verification flags it
(docs/decisions/, "audit events carry a writer MAC").

``settings.FLOWGATE_AUDIT_KEYS`` lists the secrets, newest first. ``record()`` signs with the
newest; verification accepts any listed key: each MAC names its key by a short id derived from
the key itself. Rotation: prepend a new key and keep the old ones listed. Events cannot be
re-signed (the table is append-only), so removing a key makes the events it signed unverifiable,
and they are then reported as not written by Flowgate.

Outside production with no keys configured, one key is derived from ``SECRET_KEY`` with
HKDF-SHA256 (like the connector-secret keys); production settings refuse to start without
``FLOWGATE_AUDIT_KEYS``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

MIN_KEY_LENGTH = 32
HKDF_SALT = b"flowgate.audit.writer-mac"
HKDF_INFO = b"audit-mac-key-v1"


@dataclass(frozen=True)
class AuditKey:
    id: str  # 8 hex digits, stored in each MAC to say which key made it
    secret: bytes


def key_id(secret: bytes) -> str:
    return hashlib.sha256(b"flowgate-audit-key-id\x00" + secret).hexdigest()[:8]


def derive_dev_key(secret_key: str) -> bytes:
    """The audit key derived from Django's SECRET_KEY (development/test fallback only)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=HKDF_SALT, info=HKDF_INFO).derive(
        secret_key.encode()
    )


@lru_cache(maxsize=8)
def _keys(configured: tuple[str, ...], secret_key: str, production: bool) -> tuple[AuditKey, ...]:
    if not configured:
        if production:
            raise ImproperlyConfigured(
                "FLOWGATE_AUDIT_KEYS is empty; production needs at least one audit key "
                f"({MIN_KEY_LENGTH}+ random characters, e.g. python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))')."
            )
        secret = derive_dev_key(secret_key)
        return (AuditKey(key_id(secret), secret),)
    keys = []
    for position, text in enumerate(configured, start=1):
        if len(text) < MIN_KEY_LENGTH:
            raise ImproperlyConfigured(
                f"FLOWGATE_AUDIT_KEYS entry #{position} is shorter than {MIN_KEY_LENGTH} "
                "characters: use a long random secret."
            )
        secret = text.encode()
        keys.append(AuditKey(key_id(secret), secret))
    return tuple(keys)


def audit_keys() -> tuple[AuditKey, ...]:
    """The configured keys, newest (the one that signs) first."""
    configured = tuple(k.strip() for k in settings.FLOWGATE_AUDIT_KEYS if k.strip())
    return _keys(configured, settings.SECRET_KEY, settings.PRODUCTION)


def signing_key() -> AuditKey:
    return audit_keys()[0]


def verifying_keys() -> dict[str, bytes]:
    """Key id -> secret, for every key a stored MAC may name."""
    return {key.id: key.secret for key in audit_keys()}
