"""The fixed table of pure functions an expression can call."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..timers import TimerValueError, parse_datetime
from .bounds import (
    MAX_NUMBER_TEXT,
    MAX_ROUND_DIGITS,
    charge,
    check_weight,
    weight_of,
)
from .errors import Fail, is_numeric, kind_of, short


def _iterable(value: Any, func: str) -> list[Any]:
    if isinstance(value, str | list | tuple | set | frozenset):
        charge(len(value))
        return list(value)
    if isinstance(value, Mapping):
        charge(len(value))
        return list(value.keys())
    raise Fail(f"{func}() needs a list, not {kind_of(value)}")


def _text(value: Any, func: str, position: str = "") -> str:
    if not isinstance(value, str):
        where = f" ({position})" if position else ""
        raise Fail(f"{func}() needs text{where}, not {kind_of(value)}")
    return value


def _number(value: Any, func: str) -> int | float:
    if not is_numeric(value):
        raise Fail(f"{func}() needs a number, not {kind_of(value)}")
    return value  # type: ignore[no-any-return]


def _fn_len(value: Any) -> int:
    if isinstance(value, str | list | tuple | set | frozenset | Mapping):
        return len(value)
    raise Fail(f"len() needs text, a list or a mapping, not {kind_of(value)}")


def _extreme(name: str, pick: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    if not args:
        raise Fail(f"{name}() needs at least one value")
    items = _iterable(args[0], name) if len(args) == 1 else list(args)
    if not items:
        raise Fail(f"{name}() of an empty list")
    try:
        return pick(items)
    except TypeError:
        raise Fail(f"{name}() cannot compare {_mixed_kinds(items)}") from None


def _mixed_kinds(items: Iterable[Any]) -> str:
    kinds = sorted({kind_of(item) for item in items})
    if len(kinds) == 1:
        return f"{kinds[0]} values with each other"
    return " with ".join(kinds)


def _fn_min(*args: Any) -> Any:
    return _extreme("min", min, args)


def _fn_max(*args: Any) -> Any:
    return _extreme("max", max, args)


def _fn_abs(value: Any) -> Any:
    return abs(_number(value, "abs"))


def _fn_round(value: Any, digits: Any = None) -> Any:
    number = _number(value, "round")
    if digits is None:
        return round(number)
    if isinstance(digits, bool) or not isinstance(digits, int):
        raise Fail(f"round() needs a whole number of digits, not {kind_of(digits)}")
    if abs(digits) > MAX_ROUND_DIGITS:
        raise Fail(f"round() digits must be between -{MAX_ROUND_DIGITS} and {MAX_ROUND_DIGITS}")
    return round(number, digits)


def _number_text(value: str, func: str) -> str:
    text = value.strip()
    if len(text) > MAX_NUMBER_TEXT:
        raise Fail(f"{func}() text is too long to be a number")
    return text


def _fn_int(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise Fail(f"cannot convert {short(value)} to a whole number")
        return int(value)
    if isinstance(value, str):
        text = _number_text(value, "int")
        try:
            return int(text, 10)
        except ValueError:
            raise Fail(f"cannot convert {short(value)} to a whole number") from None
    raise Fail(f"cannot convert {kind_of(value)} to a whole number")


def _fn_float(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = _number_text(value, "float")
        try:
            number = float(text)
        except ValueError:
            raise Fail(f"cannot convert {short(value)} to a number") from None
        if not math.isfinite(number):
            raise Fail(f"cannot convert {short(value)} to a number")
        return number
    raise Fail(f"cannot convert {kind_of(value)} to a number")


def _fn_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    weight = weight_of(value)
    check_weight(weight, "the text")
    charge(weight)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fn_bool(value: Any) -> bool:
    return bool(value)


def _fn_sum(value: Any) -> Any:
    items = _iterable(value, "sum")
    try:
        total = sum(items)
    except TypeError:
        found = next((kind_of(item) for item in items if not is_numeric(item)), "value")
        raise Fail(f"sum() needs a list of numbers, found {found}") from None
    if not is_numeric(total):
        raise Fail("sum() needs a list of numbers")
    return total


def _fn_sorted(value: Any) -> list[Any]:
    items = _iterable(value, "sorted")
    charge(len(items) * max(len(items).bit_length(), 1))
    try:
        return sorted(items)
    except TypeError:
        raise Fail(f"sorted() cannot compare {_mixed_kinds(items)}") from None


def _fn_any(value: Any) -> bool:
    return any(_iterable(value, "any"))


def _fn_all(value: Any) -> bool:
    return all(_iterable(value, "all"))


def _fn_lower(value: Any) -> str:
    text = _text(value, "lower")
    charge(len(text))
    return text.lower()


def _fn_upper(value: Any) -> str:
    text = _text(value, "upper")
    charge(len(text))
    return text.upper()


def _fn_strip(value: Any) -> str:
    text = _text(value, "strip")
    charge(len(text))
    return text.strip()


def _fn_startswith(value: Any, prefix: Any) -> bool:
    text = _text(value, "startswith", "first value")
    start = _text(prefix, "startswith", "second value")
    charge(len(start))
    return text.startswith(start)


def _fn_endswith(value: Any, suffix: Any) -> bool:
    text = _text(value, "endswith", "first value")
    end = _text(suffix, "endswith", "second value")
    charge(len(end))
    return text.endswith(end)


def _fn_contains(container: Any, item: Any) -> bool:
    return contains(container, item)


def _mapping(value: Any, func: str) -> Mapping[Any, Any]:
    if not isinstance(value, Mapping):
        raise Fail(f"{func}() needs a mapping, not {kind_of(value)}")
    return value


def _fn_keys(value: Any) -> list[Any]:
    mapping = _mapping(value, "keys")
    charge(len(mapping))
    return list(mapping.keys())


def _fn_values(value: Any) -> list[Any]:
    mapping = _mapping(value, "values")
    charge(len(mapping))
    return list(mapping.values())


def _fn_get(container: Any, key: Any, default: Any = None) -> Any:
    if isinstance(container, Mapping):
        try:
            return container.get(key, default)
        except TypeError:
            raise Fail(f"a {kind_of(key)} cannot be a key of a mapping") from None
    if isinstance(container, list | tuple):
        if isinstance(key, bool) or not isinstance(key, int):
            raise Fail(f"get() on a list needs a whole-number position, not {kind_of(key)}")
        return container[key] if -len(container) <= key < len(container) else default
    if container is None:
        return default
    raise Fail(f"get() needs a mapping or a list, not {kind_of(container)}")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _fn_now() -> str:
    return _utcnow().isoformat()


def _fn_today() -> str:
    return _utcnow().date().isoformat()


def _parse_datetime(value: Any, func: str) -> dt.datetime:
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, dt.date):
        parsed = dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    elif isinstance(value, str):
        if len(value.strip()) > 64:
            raise Fail(f"{func}() text is too long to be a date")
        try:
            return parse_datetime(value)  # the one ISO-8601 reader (engine.core.timers)
        except TimerValueError:
            raise Fail(f"{func}() cannot read {short(value)} as an ISO-8601 date") from None
        except OverflowError:
            raise Fail(f"{func}() date {short(value)} is out of range") from None
    else:
        raise Fail(f"{func}() needs an ISO-8601 text, not {kind_of(value)}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    try:
        return parsed.astimezone(dt.UTC)
    except OverflowError:
        raise Fail(f"{func}() date {short(value)} is out of range") from None


def _fn_date(value: Any) -> str:
    return _parse_datetime(value, "date").date().isoformat()


def _fn_datetime(value: Any) -> str:
    return _parse_datetime(value, "datetime").isoformat()


def _fn_days_between(start: Any, end: Any) -> int:
    first = _parse_datetime(start, "days_between")
    second = _parse_datetime(end, "days_between")
    return (second - first).days


def _fn_coalesce(*args: Any) -> Any:
    for value in args:
        if value is not None:
            return value
    return None


@dataclass(frozen=True)
class _Function:
    impl: Callable[..., Any]
    min_args: int
    max_args: int | None  # None: any number
    usage: str


#: The only functions an expression can call, with their argument counts and a one-line usage.
FUNCTIONS: Mapping[str, _Function] = {
    "len": _Function(_fn_len, 1, 1, "len(x): number of characters, items or keys"),
    "min": _Function(_fn_min, 1, None, "min(list) or min(a, b, ...): smallest value"),
    "max": _Function(_fn_max, 1, None, "max(list) or max(a, b, ...): largest value"),
    "abs": _Function(_fn_abs, 1, 1, "abs(n): absolute value"),
    "round": _Function(_fn_round, 1, 2, "round(n) or round(n, digits)"),
    "int": _Function(_fn_int, 1, 1, "int(x): whole number from text or number"),
    "float": _Function(_fn_float, 1, 1, "float(x): number from text or number"),
    "str": _Function(_fn_str, 1, 1, "str(x): text (null/true/false for null and booleans)"),
    "bool": _Function(_fn_bool, 1, 1, "bool(x): truth value"),
    "sum": _Function(_fn_sum, 1, 1, "sum(list): total of a list of numbers"),
    "sorted": _Function(_fn_sorted, 1, 1, "sorted(list): ascending copy"),
    "any": _Function(_fn_any, 1, 1, "any(list): true if any item is true"),
    "all": _Function(_fn_all, 1, 1, "all(list): true if every item is true"),
    "lower": _Function(_fn_lower, 1, 1, "lower(text)"),
    "upper": _Function(_fn_upper, 1, 1, "upper(text)"),
    "strip": _Function(_fn_strip, 1, 1, "strip(text): without surrounding spaces"),
    "startswith": _Function(_fn_startswith, 2, 2, "startswith(text, prefix)"),
    "endswith": _Function(_fn_endswith, 2, 2, "endswith(text, suffix)"),
    "contains": _Function(_fn_contains, 2, 2, "contains(container, item): item in container"),
    "keys": _Function(_fn_keys, 1, 1, "keys(mapping): list of keys"),
    "values": _Function(_fn_values, 1, 1, "values(mapping): list of values"),
    "get": _Function(_fn_get, 2, 3, "get(mapping, key, default=null), also get(list, index)"),
    "now": _Function(_fn_now, 0, 0, "now(): current UTC time as ISO-8601 text"),
    "today": _Function(_fn_today, 0, 0, "today(): current UTC date as YYYY-MM-DD"),
    "date": _Function(_fn_date, 1, 1, "date(text): ISO-8601 text normalized to YYYY-MM-DD (UTC)"),
    "datetime": _Function(_fn_datetime, 1, 1, "datetime(text): ISO-8601 text normalized to UTC"),
    "days_between": _Function(_fn_days_between, 2, 2, "days_between(a, b): whole days b - a"),
    "coalesce": _Function(_fn_coalesce, 1, None, "coalesce(a, b, ...): first non-null value"),
}


def contains(container: Any, item: Any) -> bool:
    if isinstance(container, str):
        if not isinstance(item, str):
            raise Fail(f"cannot look for {kind_of(item)} in text")
        charge(len(container))
        return item in container
    if isinstance(container, list | tuple):
        charge(len(container))
        return item in container
    if isinstance(container, Mapping | set | frozenset):
        try:
            return item in container
        except TypeError:
            raise Fail(f"a {kind_of(item)} cannot be a key of a {kind_of(container)}") from None
    raise Fail(f"cannot look inside {kind_of(container)} with 'in'")
