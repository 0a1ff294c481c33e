"""Webhook deliveries: verify a signed HTTP delivery and turn it into a message to a process.

The triggers (and their secrets) are created in ``apps.processes.webhooks``, which also defines
the signatures (docs/api.md, "Webhook deliveries"); the delivery runs the engine, so it lives here.

A delivery is accepted once. Its delivery id, its body hash and the hash of what its signature
covers are stored: the same id with the same body replays the first answer; the same id with
another body is refused (422, as a reused ``Idempotency-Key``); the same signed content under a
new delivery id (a captured request replayed) is refused (409). Timestamps further than
``REPLAY_WINDOW_SECONDS`` from now are refused (401), which bounds how long a capture is useful.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from rest_framework.exceptions import ParseError

from apps.common.actors import Actor
from apps.common.api_parsers import safe_json_loads
from apps.common.errors import Conflict, FlowgateError, InvalidInput, NotFound, Unprocessable
from apps.connectors.services import secret_reveal
from apps.engine.runtime.messages import message_correlate
from apps.processes.models import WebhookDelivery, WebhookTrigger
from apps.processes.webhooks import (
    MAX_BODY_BYTES,
    REPLAY_WINDOW_SECONDS,
    sign,
    sign_v2,
    signed_content_v1,
    signed_content_v2,
)


class SignatureRejected(FlowgateError):
    status = 401
    code = "bad_signature"


@dataclass(frozen=True)
class Delivery:
    instance_ids: list[int]
    replayed: bool


def _verify(trigger: WebhookTrigger, *, timestamp: str, delivery_id: str, signature: str, body):
    """Returns the signed content (for the replay check). Raises SignatureRejected."""
    secret = secret_reveal(trigger.secret_name)
    if signature.startswith("v2="):
        expected = sign_v2(secret, timestamp, delivery_id, body)
        content = signed_content_v2(timestamp, delivery_id, body)
    else:
        expected = sign(secret, timestamp, body)
        content = signed_content_v1(timestamp, body)
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        raise SignatureRejected("The signature does not match this webhook's secret.")
    return content


def _parse_variables(body: bytes) -> dict:
    if len(body) > MAX_BODY_BYTES:
        raise InvalidInput(f"The body is limited to {MAX_BODY_BYTES} bytes.", code="body_too_large")
    try:
        variables = safe_json_loads(body or b"{}")
    except ParseError as exc:
        raise InvalidInput(
            f"The body must be a JSON object: {exc.detail}", code="invalid_json"
        ) from None
    if not isinstance(variables, dict):
        raise InvalidInput(
            "The body must be a JSON object (its keys become process variables).",
            code="invalid_json",
        )
    return variables


def _earlier(trigger: WebhookTrigger, delivery_id: str, body_hash: str, signed_hash: str):
    """The answer to a delivery seen before, or None. Raises for a reused id or a replay."""
    previous = WebhookDelivery.objects.filter(trigger=trigger, delivery_id=delivery_id).first()
    if previous is not None:
        if previous.body_sha256 and previous.body_sha256 != body_hash:
            raise Unprocessable(
                f"The delivery id {delivery_id!r} was already used for a different body. Use a "
                "new X-Flowgate-Delivery id for a new event; repeat a delivery only with exactly "
                "the same body.",
                code="delivery_id_reused",
            )
        return Delivery(instance_ids=previous.instance_ids, replayed=True)
    replay = WebhookDelivery.objects.filter(trigger=trigger, signed_sha256=signed_hash).first()
    if replay is not None:
        raise Conflict(
            f"This signed delivery was already received as delivery {replay.delivery_id!r}; a "
            "new delivery needs its own X-Flowgate-Timestamp and signature.",
            code="delivery_replayed",
        )
    return None


def webhook_receive(*, trigger_id: int, body: bytes, headers) -> Delivery:
    """Verify and apply one delivery. 404 unknown/inactive, 401 bad or stale signature, 400 bad
    body, 422 a delivery id reused with another body, 409 a signed delivery replayed."""
    trigger = (
        WebhookTrigger.objects.select_related("definition")
        .filter(pk=trigger_id, active=True)
        .first()
    )
    if trigger is None:
        raise NotFound("No active webhook here.", code="webhook_not_found")
    timestamp = headers.get("X-Flowgate-Timestamp", "")
    signature = headers.get("X-Flowgate-Signature", "")
    delivery_id = headers.get("X-Flowgate-Delivery", "").strip()
    if not timestamp.isascii() or not timestamp.isdigit():
        raise SignatureRejected("Send X-Flowgate-Timestamp (Unix seconds) with every delivery.")
    age = abs(time.time() - int(timestamp))
    if age > REPLAY_WINDOW_SECONDS:
        raise SignatureRejected(
            f"The timestamp is {int(age)} s away from now; deliveries more than "
            f"{REPLAY_WINDOW_SECONDS} s away are refused. Sign each delivery when sending it."
        )
    content = _verify(
        trigger, timestamp=timestamp, delivery_id=delivery_id, signature=signature, body=body
    )
    if not delivery_id or len(delivery_id) > 100:
        raise InvalidInput(
            "Send X-Flowgate-Delivery: a unique id (1-100 characters) per delivery.",
            code="missing_delivery_id",
        )
    variables = _parse_variables(body)
    body_hash = hashlib.sha256(body).hexdigest()
    signed_hash = hashlib.sha256(content).hexdigest()
    earlier = _earlier(trigger, delivery_id, body_hash, signed_hash)
    if earlier is not None:
        return earlier
    try:
        with transaction.atomic():
            delivery = WebhookDelivery.objects.create(
                trigger=trigger,
                delivery_id=delivery_id,
                body_sha256=body_hash,
                signed_sha256=signed_hash,
            )
            instances = message_correlate(
                name=trigger.message_name,
                correlation_key=str(variables.get("correlation_key", ""))[:200],
                variables={k: v for k, v in variables.items() if k != "correlation_key"},
                actor=Actor.system(f"webhook:{trigger.pk}"),
                # a webhook starts as its creator may: the process's start restriction holds
                authorized_by=trigger.created_by,
            )
            delivery.instance_ids = [i.pk for i in instances]
            delivery.save(update_fields=["instance_ids"])
    except IntegrityError:  # the same delivery arrived twice at once: the other one won
        earlier = _earlier(trigger, delivery_id, body_hash, signed_hash)
        if earlier is None:  # pragma: no cover - the unique constraints make this unreachable
            raise
        return earlier
    return Delivery(instance_ids=delivery.instance_ids, replayed=False)
