"""``Idempotency-Key`` support: the first answer to a keyed request is stored and replayed.

Usage in an API view (the handler runs at most once per owner, scope and key)::

    def post(self, request):
        data = self.validated_input()
        return idempotent(request, "instance.start", lambda: self.respond(
            instance_start(...), status=201))

How it stays exactly-once under concurrency: the record row is INSERTed *before* the handler
runs, in the same transaction as the handler's writes. A concurrent duplicate's INSERT waits on
the unique index until the first transaction ends: if it committed, the duplicate gets an
IntegrityError and replays the stored answer; if it rolled back (the handler raised), the
duplicate's INSERT succeeds and it runs the handler itself. Only 2xx answers are stored, so a
request that failed can be retried with the same key.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.http import QueryDict
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from apps.common.errors import InvalidInput, Unprocessable
from apps.common.models import IdempotencyRecord

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
_VALID_KEY = re.compile(r"^[\x20-\x7e]+$")


def _ttl() -> timedelta:
    return timedelta(hours=settings.FLOWGATE_IDEMPOTENCY_TTL_HOURS)


def idempotency_owner(request: Any) -> str:
    """Whose key space a request uses: its API token, else its user."""
    token = getattr(request, "auth", None)
    token_id = getattr(token, "pk", None)
    if token_id is not None:
        return f"token:{token_id}"
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    raise InvalidInput("Idempotency-Key needs an authenticated request.", code="invalid")


def idempotency_key_of(request: Any) -> str | None:
    raw = request.headers.get(IDEMPOTENCY_HEADER)
    if raw is None:
        return None
    key = raw.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not _VALID_KEY.match(key):
        raise InvalidInput(
            f"The {IDEMPOTENCY_HEADER} header must be 1 to {MAX_KEY_LENGTH} printable ASCII "
            "characters, for example a UUID.",
            code="invalid_idempotency_key",
            details=[{"field": IDEMPOTENCY_HEADER, "message": "Invalid idempotency key."}],
        )
    return key


def _canonical(value: Any) -> Any:
    if isinstance(value, QueryDict):
        return {key: [_canonical(v) for v in value.getlist(key)] for key in sorted(value)}
    if isinstance(value, UploadedFile):
        digest = hashlib.sha256()
        for chunk in value.chunks():
            digest.update(chunk)
        value.seek(0)
        return {"file": value.name, "sha256": digest.hexdigest()}
    if isinstance(value, dict):
        return {
            str(key): _canonical(v) for key, v in sorted(value.items(), key=lambda kv: str(kv[0]))
        }
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def request_fingerprint(request: Any) -> str:
    """SHA-256 over method, path, query string and the parsed body (uploaded files by content)."""
    payload = {
        "method": request.method,
        "path": request.path,
        "query": _canonical(request.query_params),
        "body": _canonical(request.data),
    }
    encoded = json.dumps(payload, sort_keys=True, cls=DjangoJSONEncoder, default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()


def _replay(record: IdempotencyRecord) -> Response:
    return Response(
        record.response_body, status=record.status_code, headers={REPLAYED_HEADER: "true"}
    )


def _reused(key: str) -> Unprocessable:
    return Unprocessable(
        f"The Idempotency-Key {key!r} was already used for a different request. Use a new key "
        "for a new request; repeat a request only with exactly the same body.",
        code="idempotency_key_reused",
    )


def _as_json(data: Any) -> Any:
    return json.loads(json.dumps(data, cls=JSONEncoder))


def idempotent(request: Any, scope: str, handler: Callable[[], Response]) -> Response:
    """Run ``handler`` once per (owner, ``scope``, ``Idempotency-Key``); replay its 2xx answer.

    Without the header the handler simply runs. Exceptions from the handler propagate (nothing is
    stored, its writes roll back). Takes a row lock on the record for the transaction.
    """
    key = idempotency_key_of(request)
    if key is None:
        return handler()
    owner = idempotency_owner(request)
    fingerprint = request_fingerprint(request)  # parses the body before anything is written
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    owner=owner, scope=scope, key=key, request_fingerprint=fingerprint
                )
        except IntegrityError:
            record = IdempotencyRecord.objects.select_for_update().get(
                owner=owner, scope=scope, key=key
            )
            if record.created_at > timezone.now() - _ttl():
                if record.request_fingerprint != fingerprint:
                    raise _reused(key) from None
                return _replay(record)
            # Expired: the key is free again; reuse the locked row for this request.
            record.request_fingerprint = fingerprint
            record.created_at = timezone.now()
            record.status_code = 0
            record.response_body = None
        response = handler()
        if not 200 <= response.status_code < 300:
            record.delete()  # only successes are remembered: the client may retry a failure
            return response
        record.status_code = response.status_code
        record.response_body = _as_json(response.data)
        record.save()
    return response


def idempotency_records_prune(*, older_than: timedelta | None = None) -> int:
    """Delete records past their retention (default FLOWGATE_IDEMPOTENCY_TTL_HOURS, 24 h)."""
    cutoff = timezone.now() - (older_than if older_than is not None else _ttl())
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
