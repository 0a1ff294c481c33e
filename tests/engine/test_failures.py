"""The one classifier of connector failures (apps.engine.runtime.failures), used by the lease
path and the chain alike."""

from __future__ import annotations

from apps.common.errors import NotFound
from apps.connectors.base import BusinessError, ConnectorError
from apps.engine.runtime.failures import (
    ConnectorFailure,
    classify_connector_error,
    unmatched_business_error,
)


def _raised(exc: Exception) -> Exception:
    try:
        raise exc
    except Exception as caught:
        return caught


def test_a_business_error_carries_its_code_and_is_routed_not_retried():
    failure = classify_connector_error(BusinessError("CREDIT_DENIED", "score too low"))
    assert failure == ConnectorFailure(
        message="score too low", permanent=True, stack="", error_code="CREDIT_DENIED"
    )
    assert failure.is_business_error


def test_a_connector_error_is_permanent_only_when_the_connector_says_so():
    assert classify_connector_error(ConnectorError("HTTP 503")) == ConnectorFailure(
        message="HTTP 503", permanent=False
    )
    assert classify_connector_error(ConnectorError("HTTP 400", permanent=True)) == (
        ConnectorFailure(message="HTTP 400", permanent=True)
    )
    assert not classify_connector_error(ConnectorError("x")).is_business_error


def test_an_unknown_connector_is_permanent():
    failure = classify_connector_error(NotFound("Connector 'nope' is not registered."))
    assert failure == ConnectorFailure(
        message="Connector 'nope' is not registered.", permanent=True
    )


def test_any_other_exception_is_retryable_and_keeps_its_stack():
    failure = classify_connector_error(_raised(KeyError("amount")))
    assert failure.message == "KeyError: 'amount'"
    assert failure.permanent is False
    assert failure.error_code is None
    assert failure.stack.startswith("Traceback (most recent call last):")
    assert "_raised" in failure.stack
    assert failure.stack.rstrip().endswith("KeyError: 'amount'")


def test_the_unmatched_business_error_message_names_code_and_message():
    assert unmatched_business_error("E1", "no stock") == (
        "Business error 'E1' has no matching error event: no stock"
    )
