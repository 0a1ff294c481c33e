"""The ``email`` connector. Sends through Django's mail framework (settings.EMAIL_BACKEND)."""

from __future__ import annotations

import hashlib
import smtplib
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import BadHeaderError, EmailMessage
from django.core.validators import validate_email
from django.template import Context, Engine, TemplateSyntaxError

from apps.common import tracing
from apps.connectors.base import Connector, ConnectorError, ExecutionContext
from apps.connectors.registry import register

MAX_RECIPIENTS = 200
MAX_TEMPLATE_LENGTH = 100_000

# A private engine: no loaders (no {% include %}/{% extends %} of files), no autoescape (plain-text
# mail), unknown variables render as "".
_ENGINE = Engine(autoescape=False, debug=False, loaders=[], libraries={}, string_if_invalid="")

CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["subject", "body"],
    "properties": {
        "subject": {
            "type": "string",
            "description": "Django template, rendered with the step's inputs: 'Order {{ id }}'.",
        },
        "body": {"type": "string", "description": "Django template (plain text)."},
        "to": {
            "type": ["string", "array"],
            "items": {"type": "string", "format": "email"},
            "description": "E-mail address(es).",
        },
        "roles": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Send to every active user with an e-mail address in these roles.",
        },
        "from_email": {"type": "string", "format": "email"},
        "reply_to": {"type": "string", "format": "email"},
    },
    "anyOf": [{"required": ["to"]}, {"required": ["roles"]}],
}


class EmailConnector(Connector):
    name = "email"
    label = "Send e-mail"
    description = (
        "Renders subject and body as Django templates from the step's inputs and mails them to "
        "addresses and/or everyone in the given roles."
    )
    config_schema = CONFIG_SCHEMA

    def execute(self, inputs: dict[str, Any], context: ExecutionContext) -> dict[str, Any]:
        subject = " ".join(_render("subject", inputs).split())[:998]
        body = _render("body", inputs)
        recipients = _recipients(inputs)
        from_email = inputs.get("from_email") or settings.DEFAULT_FROM_EMAIL
        reply_to = inputs.get("reply_to")
        for label, address in (("from_email", from_email), ("reply_to", reply_to)):
            if address:
                _validate_address(address, label)
        digest = hashlib.sha256(context.idempotency_key.encode()).hexdigest()[:32]
        message_id = f"<flowgate-{digest}@{_domain(from_email)}>"
        message = EmailMessage(
            subject=subject,
            body=body,
            from_email=from_email,
            to=recipients,
            reply_to=[reply_to] if reply_to else None,
            # Same activation -> same Message-ID, so mail systems can drop a retried duplicate.
            headers=_headers(message_id, context),
        )
        try:
            sent = message.send(fail_silently=False)
        except BadHeaderError as exc:
            raise ConnectorError(f"Invalid e-mail header: {exc}", permanent=True) from None
        except smtplib.SMTPRecipientsRefused as exc:
            refused = ", ".join(sorted(exc.recipients))
            raise ConnectorError(
                f"The mail server refused the recipients: {refused}.", permanent=True
            ) from None
        except smtplib.SMTPAuthenticationError:
            raise ConnectorError(
                "The mail server rejected the EMAIL_HOST_USER/EMAIL_HOST_PASSWORD login; "
                "fix the e-mail settings.",
                permanent=True,
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise ConnectorError(
                f"Could not send e-mail ({type(exc).__name__}: {exc}); will retry.",
                permanent=False,
            ) from None
        return {"sent": sent, "recipients": recipients, "message_id": message_id}


def _render(field: str, inputs: dict[str, Any]) -> str:
    source = inputs.get(field)
    if not isinstance(source, str):
        raise ConnectorError(f"The e-mail '{field}' input must be a string.", permanent=True)
    if len(source) > MAX_TEMPLATE_LENGTH:
        raise ConnectorError(
            f"The e-mail '{field}' template is longer than {MAX_TEMPLATE_LENGTH} characters.",
            permanent=True,
        )
    try:
        template = _ENGINE.from_string(source)
        return template.render(Context(dict(inputs), autoescape=False))
    except TemplateSyntaxError as exc:
        raise ConnectorError(
            f"The e-mail '{field}' template has a syntax error: {exc}", permanent=True
        ) from None
    except Exception as exc:  # a template tag failing at render time (e.g. a missing include)
        raise ConnectorError(
            f"The e-mail '{field}' template could not be rendered: {exc}", permanent=True
        ) from None


def _recipients(inputs: dict[str, Any]) -> list[str]:
    to = inputs.get("to") or []
    if isinstance(to, str):
        to = [part.strip() for part in to.split(",") if part.strip()]
    roles = inputs.get("roles") or []
    if not isinstance(to, list) or not all(isinstance(a, str) for a in to):
        raise ConnectorError("The 'to' input must be an address or a list of them.", permanent=True)
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise ConnectorError("The 'roles' input must be a list of role names.", permanent=True)
    addresses = []
    for address in to:
        _validate_address(address, "to")
        addresses.append(address)
    if roles:
        users = get_user_model().objects.filter(groups__name__in=roles, is_active=True)
        addresses.extend(users.exclude(email="").values_list("email", flat=True))
    by_mailbox: dict[str, str] = {}
    for address in addresses:
        by_mailbox.setdefault(address.lower(), address)  # one mail per mailbox
    unique = [by_mailbox[key] for key in sorted(by_mailbox)]
    if not unique:
        raise ConnectorError(
            "No recipients: give 'to' addresses or roles whose active users have an e-mail "
            f"address (roles: {', '.join(roles) or 'none'}).",
            permanent=True,
        )
    if len(unique) > MAX_RECIPIENTS:
        raise ConnectorError(f"More than {MAX_RECIPIENTS} recipients.", permanent=True)
    return unique


def _validate_address(address: str, field: str) -> None:
    try:
        validate_email(address)
    except ValidationError:
        raise ConnectorError(
            f"{address!r} in '{field}' is not a valid e-mail address.", permanent=True
        ) from None


def _domain(address: str) -> str:
    domain = address.rpartition("@")[2].strip(">").strip()
    return domain or "flowgate.invalid"


register(EmailConnector())


def _headers(message_id: str, context: ExecutionContext) -> dict[str, str]:
    headers = {"Message-ID": message_id, "Idempotency-Key": context.idempotency_key}
    trace_id, _ = tracing.log_ids()
    if trace_id:  # the step's trace (the instance's): find the mail from the trace and back
        headers["X-Flowgate-Trace-Id"] = trace_id
    return headers
