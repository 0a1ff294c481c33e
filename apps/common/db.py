"""Database helpers for the hot paths (engine steps, audit events).

``insert_rows`` writes several model instances with one plain multi-row ``INSERT ... VALUES``.
Django's ``bulk_create`` does the same job, but on PostgreSQL it sends every column as an array
for ``UNNEST`` (Django 5.2), and building and quoting those arrays costs more than the insert
itself at two to five rows, which is what one engine step writes. Values are prepared by each
field exactly as ``save()`` prepares them (``get_db_prep_save``), so what is stored is the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from typing import Generic, TypeVar, cast

from django.db import connection, models
from django.db.models.fields import AutoFieldMixin

M = TypeVar("M", bound=models.Model)
T = TypeVar("T")
PARAMS_CACHED = 50  # psycopg._queries.MAX_CACHED_STATEMENT_PARAMS


def _qn(name: str | None) -> str:
    return connection.ops.quote_name(cast(str, name))


@cache
def _insert_plan(model: type[models.Model], vendor: str) -> tuple[str, str, list, models.Field]:
    opts = model._meta
    pk = opts.pk
    fields = [f for f in opts.concrete_fields if not isinstance(f, AutoFieldMixin)]
    columns = ", ".join(_qn(f.column) for f in fields)
    head = f"INSERT INTO {_qn(opts.db_table)} ({columns}) VALUES "  # noqa: S608
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    return head, row, fields, cast(models.Field, pk)


def insert_rows(objs: Sequence[M]) -> Sequence[M]:
    """INSERT ``objs`` (unsaved instances of one model) in one statement and set their primary
    keys. ``pre_save`` hooks such as ``auto_now_add`` run as in ``save()``; signals are not sent
    (as with ``bulk_create``)."""
    if not objs:
        return objs
    model = type(objs[0])
    head, row, fields, pk = _insert_plan(model, connection.vendor)
    rows = [
        [field.get_db_prep_save(field.pre_save(obj, add=True), connection) for field in fields]
        for obj in objs
    ]
    with connection.cursor() as cursor:
        if connection.features.can_return_rows_from_bulk_insert:
            # psycopg caches the parsing of statements with at most 50 parameters: stay under.
            per_statement = max(1, PARAMS_CACHED // len(fields))
            for start in range(0, len(objs), per_statement):
                chunk = rows[start : start + per_statement]
                sql = head + ", ".join([row] * len(chunk)) + f" RETURNING {_qn(pk.column)}"
                cursor.execute(sql, [value for values in chunk for value in values])
                for obj, (value,) in zip(
                    objs[start : start + per_statement], cursor.fetchall(), strict=True
                ):
                    setattr(obj, pk.attname, value)
        else:  # an old SQLite: one row at a time
            for obj, values in zip(objs, rows, strict=True):
                cursor.execute(head + row, values)
                setattr(obj, pk.attname, cursor.lastrowid)
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias
    return objs


@cache
def _update_plan(model: type[models.Model], names: tuple[str, ...], vendor: str):
    opts = model._meta
    fields = [cast(models.Field, opts.get_field(name)) for name in names]
    assignments = ", ".join(f"{_qn(f.column)} = %s" for f in fields)
    sql = (
        f"UPDATE {_qn(opts.db_table)} SET {assignments} "  # noqa: S608
        f"WHERE {_qn(cast(models.Field, opts.pk).column)} = %s"
    )
    return sql, fields


def update_row(obj: models.Model, names: Sequence[str]) -> None:
    """``obj.save(update_fields=names)`` for a row that exists, without compiling a query each
    time (``auto_now`` fields are refreshed as ``save()`` does). Signals are not sent."""
    sql, fields = _update_plan(type(obj), tuple(names), connection.vendor)
    params = [f.get_db_prep_save(f.pre_save(obj, add=False), connection) for f in fields]
    params.append(obj.pk)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def savepoints() -> int:
    """How many savepoints the current transaction has open (``atomic(savepoint=False)`` blocks
    open none): a write queued for the end of a block must not outlive one that rolls back."""
    return sum(1 for sid in connection.savepoint_ids if sid is not None)


class WriteBatch(Generic[T]):
    """Writes queued in a ``block()`` and made by ``flush`` once, at its end, in the order they
    were queued (decision 044: an approval's audit events and its inbox feed rows, one INSERT
    each). Use the block inside the change's transaction: if it raises, nothing is flushed.
    Nested blocks join the outer one. ``queue`` refuses (the caller writes at once, alone) outside
    a block and inside a savepoint opened within it, since that savepoint may roll back alone."""

    def __init__(self, name: str, flush: Callable[[list[T]], None]) -> None:
        self._pending: ContextVar[tuple[list[T], int] | None] = ContextVar(name, default=None)
        self._flush = flush

    @property
    def active(self) -> bool:
        return self._pending.get() is not None

    @contextmanager
    def block(self) -> Iterator[None]:
        if self.active:
            yield
            return
        pending: list[T] = []
        token = self._pending.set((pending, savepoints()))
        try:
            yield
        finally:
            self._pending.reset(token)
        self._flush(pending)

    def queue(self, items: Sequence[T]) -> bool:
        """Queue ``items`` for the end of the current block; False when they must be written now."""
        state = self._pending.get()
        if state is None or savepoints() != state[1]:
            return False
        state[0].extend(items)
        return True
