"""Webhook deliveries: verify a signed HTTP delivery and turn it into a message to a process.

The triggers (and their secrets) are created in ``apps.processes.webhooks``; the delivery runs
the engine, so it lives here. Signature: ``X-Flowgate-Signature: sha256=<hex HMAC-SHA256(secret,
"<timestamp>." + body)>`` with ``X-Flowgate-Timestamp`` (Unix seconds, at most
``REPLAY_WINDOW_SECONDS`` away from now) and ``X-Flowgate-Delivery`` (a unique id per delivery; a
repeat replays the first answer).
"""

from __future__ import annotations

import hmac
import json
import time
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from apps.common.actors import Actor
from apps.common.errors import FlowgateError, InvalidInput, NotFound
from apps.connectors.services import secret_reveal
from apps.engine.runtime.messages import message_correlate
from apps.processes.models import WebhookDelivery, WebhookTrigger
from apps.processes.webhooks import sign

REPLAY_WINDOW_SECONDS = 300
MAX_BODY_BYTES = 256 * 1024


class SignatureRejected(FlowgateError):
    status = 401
    code = "bad_signature"


@dataclass(frozen=True)
class Delivery:
    instance_ids: list[int]
    replayed: bool


def webhook_receive(*, trigger_id: int, body: bytes, headers) -> Delivery:
    """Verify and apply one delivery. 404 unknown/inactive, 401 bad or stale signature, 400 bad body."""
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
    try:
        age = abs(time.time() - int(timestamp))
    except ValueError:
        raise SignatureRejected(
            "Send X-Flowgate-Timestamp (Unix seconds) with every delivery."
        ) from None
    if age > REPLAY_WINDOW_SECONDS:
        raise SignatureRejected(
            f"The timestamp is {int(age)} s away from now; deliveries older than {REPLAY_WINDOW_SECONDS} s are refused."
        )
    expected = sign(secret_reveal(trigger.secret_name), timestamp, body)
    if not hmac.compare_digest(expected, signature):
        raise SignatureRejected("The signature does not match this webhook's secret.")
    if not delivery_id or len(delivery_id) > 100:
        raise InvalidInput(
            "Send X-Flowgate-Delivery: a unique id (1-100 characters) per delivery.",
            code="missing_delivery_id",
        )
    if len(body) > MAX_BODY_BYTES:
        raise InvalidInput(f"The body is limited to {MAX_BODY_BYTES} bytes.", code="body_too_large")
    try:
        variables = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("The body must be a JSON object.", code="invalid_json") from None
    if not isinstance(variables, dict):
        raise InvalidInput(
            "The body must be a JSON object (its keys become process variables).",
            code="invalid_json",
        )
    previous = WebhookDelivery.objects.filter(trigger=trigger, delivery_id=delivery_id).first()
    if previous is not None:
        return Delivery(instance_ids=previous.instance_ids, replayed=True)
    try:
        with transaction.atomic():
            delivery = WebhookDelivery.objects.create(trigger=trigger, delivery_id=delivery_id)
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
        previous = WebhookDelivery.objects.get(trigger=trigger, delivery_id=delivery_id)
        return Delivery(instance_ids=previous.instance_ids, replayed=True)
    return Delivery(instance_ids=delivery.instance_ids, replayed=False)
