"""Writes for connector secrets. Values are encrypted before they touch the database and are never
logged, audited, returned by the API or shown in the admin."""

from __future__ import annotations

import re
from typing import Any

from cryptography.fernet import InvalidToken
from django.db import transaction

from apps.audit.actions import AuditAction
from apps.audit.services import record
from apps.common.actors import Actor
from apps.common.errors import InvalidInput, NotFound, Unprocessable
from apps.connectors.crypto import fernet
from apps.connectors.http import breaker
from apps.connectors.models import Secret

SECRET_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")
MAX_SECRET_BYTES = 16 * 1024


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not SECRET_NAME_RE.match(name):
        raise InvalidInput(
            f"Secret name {name!r} is invalid: use 1-100 lower-case letters, digits, '-' or '_', "
            "starting with a letter or digit.",
            code="invalid_secret_name",
        )
    return name


def secret_set(*, name: str, value: str, actor_user: Any) -> Secret:
    """Create the secret ``name`` or replace its value. Audited without the value."""
    _check_name(name)
    if not isinstance(value, str) or value == "":
        raise InvalidInput("A secret needs a non-empty value.", code="invalid_secret_value")
    if len(value.encode()) > MAX_SECRET_BYTES:
        raise InvalidInput(
            f"A secret value may be at most {MAX_SECRET_BYTES} bytes.", code="invalid_secret_value"
        )
    token = fernet().encrypt(value.encode()).decode()
    with transaction.atomic():
        secret = Secret.objects.select_for_update().filter(name=name).first()
        if secret is None:
            secret = Secret.objects.create(
                name=name, ciphertext=token, created_by=actor_user if _is_user(actor_user) else None
            )
            operation = "created"
        else:
            secret.ciphertext = token
            secret.save(update_fields=["ciphertext", "updated_at"])
            operation = "updated"
        record(
            AuditAction.SECRET_CHANGED,
            actor=Actor.for_user(actor_user) if _is_user(actor_user) else Actor.system("secrets"),
            data={"secret": name, "operation": operation},
        )
    return secret


def secret_delete(*, name: str, actor_user: Any) -> None:
    with transaction.atomic():
        secret = Secret.objects.select_for_update().filter(name=name).first()
        if secret is None:
            raise NotFound(f"Secret {name!r} does not exist.", code="secret_not_found")
        secret.delete()
        record(
            AuditAction.SECRET_CHANGED,
            actor=Actor.for_user(actor_user) if _is_user(actor_user) else Actor.system("secrets"),
            data={"secret": name, "operation": "deleted"},
        )


def secret_reveal(name: str) -> str:
    """The plain value of secret ``name``. For connectors only: never log, store or return it."""
    token = Secret.objects.filter(name=name).values_list("ciphertext", flat=True).first()
    if token is None:
        raise NotFound(
            f"Secret {name!r} does not exist. An administrator can create it under "
            "Admin > Secrets or with POST /api/v1/secrets/.",
            code="secret_not_found",
        )
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise Unprocessable(
            f"Secret {name!r} cannot be decrypted with the configured FLOWGATE_SECRET_KEYS: the "
            "key it was encrypted with was removed. Restore that key or set the secret again.",
            code="secret_undecryptable",
        ) from None


def secrets_rotate(*, actor_user: Any = None) -> int:
    """Re-encrypt every secret with the newest key (first of FLOWGATE_SECRET_KEYS). Returns the
    number of secrets rotated. Locks all secret rows (in pk order) for the duration."""
    multi = fernet()
    with transaction.atomic():
        secrets = list(Secret.objects.select_for_update().order_by("pk"))
        undecryptable = []
        for secret in secrets:
            try:
                secret.ciphertext = multi.rotate(secret.ciphertext.encode()).decode()
            except InvalidToken:
                undecryptable.append(secret.name)
        if undecryptable:
            raise Unprocessable(
                "Cannot rotate: these secrets are not readable with any configured key: "
                f"{', '.join(undecryptable)}. Nothing was changed.",
                code="secret_undecryptable",
            )
        Secret.objects.bulk_update(secrets, ["ciphertext"])
        if secrets:
            record(
                AuditAction.SECRET_CHANGED,
                actor=Actor.for_user(actor_user)
                if _is_user(actor_user)
                else Actor.system("rotate_secrets"),
                data={"operation": "rotated", "secrets": [s.name for s in secrets]},
            )
    return len(secrets)


def _is_user(user: Any) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False))


def circuit_close(*, target: str, actor_user: Any) -> bool:
    """Close the HTTP connector's circuit for ``target`` by hand (the operator knows the service
    is back); the waiting steps then call it at their next run. False if it was not known."""
    known = target in breaker.circuits()
    if not known:
        raise NotFound(f"No circuit is known for {target!r}.", code="circuit_not_found")
    breaker.circuit_reset(target)
    record(
        AuditAction.CIRCUIT_CLOSED,
        actor=Actor.for_user(actor_user),
        data={"target": target, "by": "operator"},
    )
    return True
