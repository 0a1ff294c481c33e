"""The expression language's error, and the value descriptions its messages use."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any


class ExpressionError(Exception):
    """An expression that cannot be compiled or evaluated; ``message`` is meant for a person."""

    def __init__(self, message: str, expression: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.expression = expression

    def __str__(self) -> str:
        return self.message


class Fail(Exception):
    """Internal: raised while walking; turned into ExpressionError with the source attached."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --------------------------------------------------------------------------------------------
# Value descriptions, used in messages
# --------------------------------------------------------------------------------------------


def kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, Mapping):
        return "mapping"
    if isinstance(value, set | frozenset):
        return "set"
    if isinstance(value, dt.datetime):
        return "datetime"
    if isinstance(value, dt.date):
        return "date"
    return "value"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_numeric(value: Any) -> bool:
    """Numbers, counting booleans as 0/1 the way Python arithmetic does."""
    return isinstance(value, int | float)


def short(value: Any) -> str:
    try:
        text = repr(value) if isinstance(value, str) else str(value)
    except Exception:  # a variable's own __str__/__repr__ may fail
        text = f"<{kind_of(value)}>"
    return text if len(text) <= 40 else text[:37] + "..."
