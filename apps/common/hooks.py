"""One small mechanism for what a lower app tells (or asks) the apps above it without importing
them (decision 011's layers; decision 027 for this module).

A hook is declared by the module that sends it, as a typed prototype::

    @hook("engine.instance_advanced", errors=RAISE)
    def instance_advanced(*, instance: Any, now: datetime, ...) -> None:
        "What it means, when it is sent, what a receiver may do."

An app above connects its receiver at start-up, in its ``AppConfig.ready()``::

    instance_advanced.connect(task_facts_record)

and the sender calls ``instance_advanced.send(instance=..., ...)``: every receiver, in the order
they were connected. Receivers and ``send`` are checked against the prototype's signature.

**Error policy** — each hook states one, and it is the only place that decides it:

- ``RAISE``: the hook is sent inside the sender's transaction and its receivers write in it;
  a receiver's exception propagates and rolls the whole write back (an inbox row that could
  not be written must not leave an engine state that points at it).
- ``LOG``: a receiver's failure is logged (``logger.exception``) and costs only its own
  contribution; the other receivers still run. For reads that decorate a page and for
  after-commit notifications, where nothing can be rolled back any more.

``send_on_commit`` sends after the current transaction commits (nothing if it rolls back); use
it only with ``LOG``.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from typing import Generic, ParamSpec, TypeVar

from django.db import transaction

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


class Errors(enum.Enum):
    RAISE = "raise"
    LOG = "log"


RAISE = Errors.RAISE
LOG = Errors.LOG


class Hook(Generic[P, R]):
    """Receivers of one named event or question, with one error policy."""

    def __init__(self, name: str, *, errors: Errors, doc: str = "") -> None:
        self.name = name
        self.errors = errors
        self.__doc__ = doc
        self._receivers: list[Callable[P, R]] = []

    def connect(self, receiver: Callable[P, R]) -> Callable[P, R]:
        """Add ``receiver`` (idempotent: connecting it again changes nothing). Returns it, so
        this also works as a decorator."""
        if receiver not in self._receivers:
            self._receivers.append(receiver)
        return receiver

    def disconnect(self, receiver: Callable[P, R]) -> None:
        if receiver in self._receivers:
            self._receivers.remove(receiver)

    @property
    def receivers(self) -> tuple[Callable[P, R], ...]:
        return tuple(self._receivers)

    def __contains__(self, receiver: object) -> bool:
        return receiver in self._receivers

    def __bool__(self) -> bool:
        return bool(self._receivers)

    def __repr__(self) -> str:
        return f"<Hook {self.name} ({self.errors.value}, {len(self._receivers)} receivers)>"

    def send(self, *args: P.args, **kwargs: P.kwargs) -> list[R]:
        """Call every receiver; their results, in order (a LOG receiver that failed gives none)."""
        results: list[R] = []
        for receiver in tuple(self._receivers):
            if self.errors is RAISE:
                results.append(receiver(*args, **kwargs))
                continue
            try:
                results.append(receiver(*args, **kwargs))
            except Exception:
                logger.exception("hook %s: receiver %r failed", self.name, receiver)
        return results

    def first(self, *args: P.args, **kwargs: P.kwargs) -> R | None:
        """Ask the receivers in order; the first answer that is not None (None: nobody's)."""
        for receiver in tuple(self._receivers):
            try:
                answer = receiver(*args, **kwargs)
            except Exception:
                if self.errors is RAISE:
                    raise
                logger.exception("hook %s: receiver %r failed", self.name, receiver)
                continue
            if answer is not None:
                return answer
        return None

    def send_on_commit(self, *args: P.args, **kwargs: P.kwargs) -> None:
        """Send once the current transaction commits."""
        transaction.on_commit(lambda: self.send(*args, **kwargs))


def hook(name: str, *, errors: Errors) -> Callable[[Callable[P, R]], Hook[P, R]]:
    """Declare a hook from a prototype function: its signature types the receivers and
    ``send``; its docstring says what the hook means. The prototype's body is never run."""

    def declare(prototype: Callable[P, R]) -> Hook[P, R]:
        return Hook(name, errors=errors, doc=prototype.__doc__ or "")

    return declare
