"""Webhook triggers: a signed HTTP delivery becomes a message to a process.

Signature: ``X-Flowgate-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>`` with
``X-Flowgate-Timestamp`` (Unix seconds, at most ``REPLAY_WINDOW_SECONDS`` away from now) and
``X-Flowgate-Delivery`` (a unique id per delivery; a repeat replays the first answer).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from apps.audit.actions import AuditAction
from apps.audit.services import Actor, record
from apps.common.errors import AccessDenied, FlowgateError, InvalidInput, NotFound
from apps.processes.models import (
    ProcessDefinition,
    ProcessVersion,
    VersionStatus,
    WebhookDelivery,
    WebhookTrigger,
)

REPLAY_WINDOW_SECONDS = 300
MAX_BODY_BYTES = 256 * 1024


class SignatureRejected(FlowgateError):
    status = 401
    code = "bad_signature"


@dataclass(frozen=True)
class Delivery:
    instance_ids: list[int]
    replayed: bool


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def webhook_create(
    *, process_key: str, message_name: str, user, name: str = ""
) -> tuple[WebhookTrigger, str]:
    """Attach a webhook to a message start event. Returns the trigger and its secret (shown once)."""
    from apps.connectors.services import secret_set

    definition = ProcessDefinition.objects.filter(key=process_key).first()
    if definition is None:
        raise NotFound(f"Process '{process_key}' does not exist.", code="process_not_found")
    latest = (
        ProcessVersion.objects.filter(definition=definition, status=VersionStatus.DEPLOYED)
        .order_by("-number")
        .first()
    )
    starts = latest.metadata.get("message_starts", []) if latest else []
    if message_name not in starts:
        raise InvalidInput(
            f"The latest deployed version of '{process_key}' has no message start event named "
            f"'{message_name}'" + (f" (it has: {', '.join(starts)})." if starts else "."),
            code="no_message_start",
        )
    raw_secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        trigger = WebhookTrigger.objects.create(
            definition=definition, message_name=message_name, name=name[:200], created_by=user
        )
        secret_set(name=trigger.secret_name, value=raw_secret, actor_user=user)
        record(
            AuditAction.SETTINGS_CHANGED,
            actor=Actor.for_user(user),
            process_key=process_key,
            data={"webhook": trigger.pk, "message": message_name, "operation": "created"},
        )
    return trigger, raw_secret


def webhook_receive(*, trigger_id: int, body: bytes, headers) -> Delivery:
    """Verify and apply one delivery. 404 unknown/inactive, 401 bad or stale signature, 400 bad body."""
    from apps.connectors.services import secret_reveal
    from apps.engine.services import message_correlate

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
            )
            delivery.instance_ids = [i.pk for i in instances]
            delivery.save(update_fields=["instance_ids"])
    except IntegrityError:  # the same delivery arrived twice at once: the other one won
        previous = WebhookDelivery.objects.get(trigger=trigger, delivery_id=delivery_id)
        return Delivery(instance_ids=previous.instance_ids, replayed=True)
    return Delivery(instance_ids=delivery.instance_ids, replayed=False)


def webhook_deactivate(*, trigger_id: int, user) -> WebhookTrigger:
    trigger = WebhookTrigger.objects.filter(pk=trigger_id).first()
    if trigger is None:
        raise NotFound(f"Webhook {trigger_id} does not exist.")
    if not (user.has_role("admin") or trigger.created_by_id == user.pk):
        raise AccessDenied(
            "Only the designer who created this webhook (or an admin) can turn it off."
        )
    with transaction.atomic():
        trigger.active = False
        trigger.save(update_fields=["active", "updated_at"])
        record(
            AuditAction.SETTINGS_CHANGED,
            actor=Actor.for_user(user),
            process_key=trigger.definition.key,
            data={"webhook": trigger.pk, "operation": "deactivated"},
        )
    return trigger
