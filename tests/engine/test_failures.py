"""The one classifier of connector failures (apps.engine.runtime.failures), used by the lease
path and the chain alike."""

from __future__ import annotations

from apps.common.errors import NotFound
from apps.connectors.base import (
    BusinessError,
    CircuitOpen,
    ConnectorError,
    TargetLimited,
    Throttled,
)
from apps.engine.runtime.failures import (
    ConnectorFailure,
    Outcome,
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


def test_a_call_not_made_or_told_to_come_back_is_deferred_not_failed():
    # given the three ways a connector defers a call (decision 039)
    cases = [
        (CircuitOpen("circuit open for host http://h:80", retry_after=30), "circuit_open", 30),
        (TargetLimited("http://h:80 is at its limit", retry_after=1), "target_limit", 1),
        (Throttled("answered 429 (Retry-After: 6)", retry_after=6), "retry_after", 6),
    ]
    for exc, reason, wait in cases:
        # when
        failure = classify_connector_error(exc)
        # then
        assert failure.outcome == Outcome.DEFERRED
        assert (failure.spends_attempt, failure.defer_reason, failure.retry_after) == (
            False,
            reason,
            wait,
        )
        assert failure.apply_arguments() == {
            "retry_after": wait,
            "spends_attempt": False,
            "defer_reason": reason,
        }


def test_the_other_outcomes_are_failures():
    assert classify_connector_error(ConnectorError("503")).outcome == Outcome.RETRYABLE
    assert classify_connector_error(ConnectorError("503", retry_after=5)).outcome == (
        Outcome.RETRYABLE
    )
    assert classify_connector_error(ConnectorError("404", permanent=True)).outcome == (
        Outcome.PERMANENT
    )
    assert classify_connector_error(BusinessError("NO", "no")).outcome == Outcome.BUSINESS_ERROR
    assert classify_connector_error(ConnectorError("503")).defer_reason == ""
