"""Pagination for lists over a million tasks: the total is counted only as far as needed.

Counting every task a user may see means probing a permission for each of them; the inbox
counts up to two pages past the current one instead, so "Next" and the page numbers ahead
work while page 1 stays as cheap as the rows it shows. The count is exact when the list is
shorter than that, a lower bound otherwise.
"""

from __future__ import annotations

from django.db.models import QuerySet

PAGES_AHEAD = 2


class CappedCount:
    """A queryset whose ``count()`` stops at ``cap`` (what Django's Paginator calls)."""

    ordered = True

    def __init__(self, queryset: QuerySet, cap: int) -> None:
        self.queryset = queryset
        self.cap = cap

    def count(self) -> int:
        return self.queryset.order_by().values("pk")[: self.cap].count()

    def __getitem__(self, key):
        return self.queryset[key]

    def __len__(self) -> int:
        return self.count()


def capped(queryset: QuerySet, *, page: object, page_size: int) -> CappedCount:
    try:
        number = max(1, int(str(page or 1)))
    except ValueError:
        number = 1
    return CappedCount(queryset, (number + PAGES_AHEAD) * page_size + 1)
