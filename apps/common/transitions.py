"""One pattern for every status field: a table of allowed transitions that raises on an illegal one.

A model's status changes only through its table: ``TABLE.move(row, new)`` for a row in memory
(checks, then assigns), ``TABLE.update(queryset, new, **fields)`` for a bulk UPDATE (it narrows
the queryset to the statuses that may become ``new``, so no row takes an illegal step), and
``TABLE.require(sources, new)`` where a raw SQL statement names the statuses it moves from.
Creating a row in a given status is not a transition.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from django.db.models import QuerySet

from apps.common.errors import Conflict


class IllegalTransition(Conflict):
    """A status change the table does not allow (HTTP 409, code ``illegal_transition``)."""

    code = "illegal_transition"


class _HasStatus(Protocol):
    pk: Any
    status: str


class Transitions:
    """The allowed status changes of one model: ``{from: {to, ...}}``; every status is a key."""

    def __init__(self, subject: str, table: Mapping[str, Iterable[str]]):
        self.subject = subject
        self.table: dict[str, frozenset[str]] = {
            str(k): frozenset(str(v) for v in vs) for k, vs in table.items()
        }
        unknown = set().union(*self.table.values()) - set(self.table)
        if unknown:
            raise ValueError(f"{subject}: targets without a row: {sorted(unknown)}")

    def __getitem__(self, status: str) -> frozenset[str]:
        return self.table[status]

    def allowed(self, current: str, new: str) -> bool:
        return new in self.table.get(current, frozenset())

    def sources(self, new: str) -> frozenset[str]:
        """The statuses that may become ``new``."""
        return frozenset(k for k, targets in self.table.items() if new in targets)

    def check(self, current: str, new: str, *, pk: Any = None) -> None:
        if not self.allowed(current, new):
            label = f"{self.subject} {pk}" if pk is not None else self.subject
            raise IllegalTransition(f"{label} is {current}; it cannot become {new}.")

    def move(self, row: _HasStatus, new: str) -> None:
        """Check ``row.status -> new`` against the table, then assign it (the caller saves)."""
        self.check(row.status, new, pk=row.pk)
        row.status = new

    def require(self, sources: Iterable[str], new: str) -> None:
        """Assert that every status in ``sources`` may become ``new`` (for raw SQL updates)."""
        for current in sources:
            self.check(current, new)

    def update(self, queryset: QuerySet, new: str, **fields: Any) -> int:
        """Bulk UPDATE to ``new`` of the rows whose status may take that step."""
        return queryset.filter(status__in=sorted(self.sources(new))).update(status=new, **fields)
