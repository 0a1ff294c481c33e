"""Pagination for lists over a million tasks: the total is known only as far as needed.

Counting every task a user may see means probing a permission for each of them. The inbox reads
the rows up to the current page plus one more instead, in the same query that serves the page:
the total is exact when the list ends on this page, and otherwise a lower bound that is enough
for "Next" (one row past the page). Page 1 costs one walk of 26 visible rows, not two walks.
"""

from __future__ import annotations

from typing import Any


class CappedCount:
    """A queryset whose ``count()`` stops at ``cap`` and whose rows come from that same read
    (what Django's Paginator and DRF's page pagination call: ``count()``, then a slice)."""

    ordered = True

    def __init__(self, queryset: Any, cap: int) -> None:
        self.queryset = queryset
        self.cap = cap
        self._rows: list | None = None

    def _read(self) -> list:
        if self._rows is None:
            self._rows = list(self.queryset[: self.cap])
        return self._rows

    def count(self) -> int:
        return len(self._read())

    def __getitem__(self, key):
        return self._read()[key]

    def __len__(self) -> int:
        return self.count()


def capped(queryset: Any, *, page: object, page_size: int) -> CappedCount:
    """``queryset``: anything sliced like a queryset (a QuerySet, ``selectors.list_rows``)."""
    try:
        number = max(1, int(str(page or 1)))
    except ValueError:
        number = 1
    return CappedCount(queryset, number * page_size + 1)
