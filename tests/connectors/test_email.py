from __future__ import annotations

import dataclasses

import pytest
from django.core import mail

from apps.common import tracing
from apps.connectors import registry
from apps.connectors.base import ConnectorError
from apps.connectors.email.connector import EmailConnector

pytestmark = pytest.mark.django_db


def run(inputs, context):
    return EmailConnector().execute(inputs, context)


def test_registered_under_email():
    assert isinstance(registry.get("email"), EmailConnector)


def test_renders_templates_without_autoescape_and_sends_to_addresses_and_roles(context, make_user):
    make_user("approver", username="ann", email="ann@example.test")
    make_user("approver", username="bob", email="")  # no address: skipped
    make_user("approver", username="cid", email="cid@example.test", is_active=False)
    make_user("designer", username="dan", email="dan@example.test")

    result = run(
        {
            "subject": "Order {{ order.id }}\nfor {{ customer }}",
            "body": "Hello {{ customer }},\ntotal: {{ order.total }} <EUR> & tax{% if vip %} (VIP){% endif %}",
            "to": ["ops@example.test", "OPS2@example.test", "Ops@Example.test"],
            "roles": ["approver"],
            "order": {"id": 17, "total": "12.50"},
            "customer": "O'Brien & Sons",
            "vip": True,
        },
        context,
    )

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.subject == "Order 17 for O'Brien & Sons"
    assert message.body == "Hello O'Brien & Sons,\ntotal: 12.50 <EUR> & tax (VIP)"
    assert message.to == ["ann@example.test", "OPS2@example.test", "ops@example.test"]
    assert message.from_email == "flowgate@localhost"
    assert result == {
        "sent": 1,
        "recipients": ["ann@example.test", "OPS2@example.test", "ops@example.test"],
        "message_id": message.extra_headers["Message-ID"],
    }
    assert message.extra_headers["Idempotency-Key"] == "inst-7:act-42"


def test_a_retry_of_the_same_activation_has_the_same_message_id(context):
    inputs = {"subject": "s", "body": "b", "to": "x@example.test"}

    first = run(inputs, context)
    second = run(inputs, dataclasses.replace(context, attempt=2))
    other = run(inputs, dataclasses.replace(context, idempotency_key="inst-7:act-43"))

    assert first["message_id"] == second["message_id"]
    assert first["message_id"] != other["message_id"]
    assert first["message_id"].startswith("<flowgate-") and first["message_id"].endswith(
        "@localhost>"
    )


def test_comma_separated_to_string(context):
    result = run({"subject": "s", "body": "b", "to": "a@example.test, b@example.test"}, context)
    assert result["recipients"] == ["a@example.test", "b@example.test"]


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"subject": "s", "body": "b"}, "No recipients: give 'to' addresses or roles"),
        ({"subject": "s", "body": "b", "roles": ["nobody"]}, "(roles: nobody)"),
        ({"subject": "s", "body": "b", "to": ["not-an-address"]}, "is not a valid e-mail"),
        ({"subject": "s", "body": "b", "to": [1]}, "'to' input must be an address"),
        ({"subject": "s", "body": "b", "to": "a@example.test", "roles": "x"}, "list of role"),
        ({"body": "b", "to": "a@example.test"}, "The e-mail 'subject' input must be a string."),
        ({"subject": "{% if %}", "body": "b", "to": "a@example.test"}, "syntax error"),
        ({"subject": "s", "body": "{% include 'x.html' %}", "to": "a@example.test"}, "could not"),
        (
            {"subject": "s", "body": "b", "to": "a@example.test", "from_email": "bad"},
            "'bad' in 'from_email' is not a valid e-mail address.",
        ),
    ],
)
def test_bad_inputs_are_permanent_and_send_nothing(inputs, message, context):
    with pytest.raises(ConnectorError) as caught:
        run(inputs, context)
    assert caught.value.permanent is True
    assert message in caught.value.message
    assert mail.outbox == []


def test_transport_failure_is_retryable(context, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = 9  # discard port: nothing listens -> connection refused
    settings.EMAIL_TIMEOUT = 2

    with pytest.raises(ConnectorError) as caught:
        run({"subject": "s", "body": "b", "to": "a@example.test"}, context)
    assert caught.value.permanent is False
    assert caught.value.message.startswith("Could not send e-mail (ConnectionRefusedError")


def test_a_mail_sent_in_a_step_carries_the_trace_id(context):
    inputs = {"subject": "s", "body": "b", "to": "x@example.test"}
    with tracing.step_span("step", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"):
        run(inputs, context)
    run(inputs, context)  # outside a step: no header
    traced, untraced = mail.outbox
    assert traced.extra_headers["X-Flowgate-Trace-Id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert "X-Flowgate-Trace-Id" not in untraced.extra_headers
