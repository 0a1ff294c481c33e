"""The contract between the job runtime and every connector.

A connector is a small, self-contained integration (healthchecks-style): it validates its own
inputs, does one outbound call and returns a JSON-serialisable dict that the engine's output
mappings turn into process variables. It says whether a failure is worth retrying.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any


class ConnectorError(Exception):
    """A failed call. ``permanent=True`` means retrying the same call cannot help (a 4xx, bad
    inputs, a refused address); ``permanent=False`` means the runtime should retry with backoff
    (5xx, timeouts, connection errors). ``message`` ends up in the incident a person reads, so it
    says what went wrong and what to fix, and never contains a secret."""

    #: False when the call was not made (a circuit is open): the runtime then waits without
    #: spending one of the step's attempts and without opening an incident.
    spends_attempt: bool = True
    #: Why a call that was not made (or was told to come back) waits: "circuit_open",
    #: "target_limit", "retry_after"; "" for a real failure (decision 039).
    defer_reason: str = ""

    def __init__(self, message: str, *, permanent: bool = False, retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        #: Seconds the other side asked us to wait (``Retry-After``) or until a circuit half-opens:
        #: the runtime schedules the next attempt then (capped by FLOWGATE_JOB_RETRY_MAX_SECONDS)
        #: instead of its own backoff.
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, permanent={self.permanent})"


class CircuitOpen(ConnectorError):
    """The call was not made: the circuit for its target is open (or a probe is in flight)."""

    spends_attempt = False
    defer_reason = "circuit_open"

    def __init__(self, message: str, *, retry_after: float):
        super().__init__(message, permanent=False, retry_after=retry_after)


class TargetLimited(ConnectorError):
    """The call was not made: its target is at its concurrency or rate limit. Like an open
    circuit, the step waits (``retry_after``) without spending an attempt."""

    spends_attempt = False
    defer_reason = "target_limit"

    def __init__(self, message: str, *, retry_after: float):
        super().__init__(message, permanent=False, retry_after=retry_after)


class Throttled(ConnectorError):
    """The target answered 429 Too Many Requests with a ``Retry-After``: it is not failing, it
    asks us to come back at a given time. The step waits until then without spending an attempt
    (decision 039); the breaker still counts the answer, so a target that only ever throttles
    opens its circuit and gets one probe per cool-down."""

    spends_attempt = False
    defer_reason = "retry_after"

    def __init__(self, message: str, *, retry_after: float):
        super().__init__(message, permanent=False, retry_after=retry_after)


class BusinessError(ConnectorError):
    """An expected business outcome ("credit refused"), not a technical failure. Always permanent;
    the runtime routes it to the BPMN error boundary event whose errorCode equals ``error_code``
    (and opens an incident when no boundary event catches it)."""

    def __init__(self, error_code: str, message: str = ""):
        super().__init__(message or f"Business error {error_code}", permanent=True)
        self.error_code = error_code

    def __repr__(self) -> str:
        return f"BusinessError({self.error_code!r}, {self.message!r})"


@dataclass(frozen=True)
class ExecutionContext:
    """What a connector knows about the activation it runs for.

    ``idempotency_key`` is built by the runtime from (instance id, activity instance id) — never
    from the attempt number — so every retry of one activation sends the same key."""

    idempotency_key: str
    instance_id: int
    activity_id: str
    job_id: int | None  # None for a chained step: its row is written with its result
    attempt: int
    process_key: str = ""
    timeout: float = 10.0
    #: Audit events the connector's work should leave, as (action, data) pairs: the runtime
    #: writes them in the transaction that applies the step's result (or its business error),
    #: so a step that is rolled back or whose lease was lost leaves none (decision 036).
    audit_events: list[tuple[Any, dict[str, Any]]] = field(default_factory=list)


class Connector(ABC):
    """Base class. Subclasses set the class attributes and implement :meth:`execute`.

    ``config_schema`` is the JSON Schema (draft 2020-12 subset) of ``inputs``; the designer shows it
    and the connector validates its inputs itself with messages a designer understands."""

    name: str = ""
    label: str = ""
    description: str = ""
    config_schema: dict[str, Any] = {"type": "object"}  # noqa: RUF012 (read-only by convention)
    #: True for fast, local work that is safe to run again (echo, set_variables, a calculation).
    #: The worker then runs it right away, together with the chainable steps that follow, and
    #: applies all their results in one transaction (optimistically: the instance is locked only
    #: to write). Anything that does I/O or may be slow stays False: it runs with a lease, and
    #: other workers may take the steps after it.
    chainable: bool = False
    #: True for a connector the engine runs for another element (the ``decision`` connector of
    #: business rule tasks): it is not offered to service tasks, listed, or named as available.
    internal: bool = False

    @abstractmethod
    def execute(self, inputs: dict[str, Any], context: ExecutionContext) -> dict[str, Any]:
        """Do the call. Return a JSON-serialisable dict; raise ConnectorError/BusinessError."""

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label or self.name,
            "description": self.description,
            "config_schema": self.config_schema,
            "chainable": self.chainable,
        }

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"
