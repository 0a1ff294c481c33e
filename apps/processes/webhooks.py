"""Webhook triggers: create and turn off; a signed HTTP delivery becomes a message to a process
(received by ``apps.engine.webhooks``, which runs it).

Signature (docs/api.md, "Webhook deliveries"): ``X-Flowgate-Signature: v2=<hex HMAC-SHA256(secret,
"<timestamp>.<delivery id>." + body)>`` with ``X-Flowgate-Timestamp`` (Unix seconds, at most
``REPLAY_WINDOW_SECONDS`` away from now) and ``X-Flowgate-Delivery`` (a unique id per delivery; a
repeat with the same body replays the first answer). The older ``sha256=`` signature over
``"<timestamp>." + body`` is still accepted; it does not cover the delivery id, so the same signed
timestamp and body under another delivery id is refused as a replay.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.db import transaction

from apps.audit.actions import AuditAction
from apps.audit.services import record
from apps.common.actors import Actor
from apps.common.errors import AccessDenied, InvalidInput, NotFound
from apps.connectors.services import secret_set
from apps.processes.models import (
    ProcessDefinition,
    ProcessVersion,
    VersionStatus,
    WebhookTrigger,
)
from apps.processes.start_rules import start_restriction

REPLAY_WINDOW_SECONDS = 300
MAX_BODY_BYTES = 256 * 1024


def signed_content_v1(timestamp: str, body: bytes) -> bytes:
    return timestamp.encode() + b"." + body


def signed_content_v2(timestamp: str, delivery_id: str, body: bytes) -> bytes:
    return f"{timestamp}.{delivery_id}.".encode() + body


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The original (v1) signature: covers the timestamp and the body, not the delivery id."""
    content = signed_content_v1(timestamp, body)
    return "sha256=" + hmac.new(secret.encode(), content, hashlib.sha256).hexdigest()


def sign_v2(secret: str, timestamp: str, delivery_id: str, body: bytes) -> str:
    """The current signature: covers the timestamp, the delivery id and the body."""
    content = signed_content_v2(timestamp, delivery_id, body)
    return "v2=" + hmac.new(secret.encode(), content, hashlib.sha256).hexdigest()


def webhook_create(
    *, process_key: str, message_name: str, user, name: str = ""
) -> tuple[WebhookTrigger, str]:
    """Attach a webhook to a message start event. Returns the trigger and its secret (shown once)."""
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
    restriction = start_restriction(latest)
    if not restriction.allows(username=user.get_username(), roles=user.role_names()):
        # deliveries start the process as its creator may (apps.engine.webhooks)
        raise AccessDenied(
            f"Process '{process_key}' may only be started by {restriction.describe()}, so you "
            "cannot attach a webhook that starts it.",
            code="start_not_allowed",
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
