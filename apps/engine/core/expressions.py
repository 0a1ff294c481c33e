"""The Flowgate expression language: a small, safe Python subset.

Gateway conditions, timer values, data mappings and completion conditions are written in this
language. Text is parsed with ``ast.parse(mode="eval")``, every node is checked against a
whitelist, and the tree is walked by our own interpreter. Nothing is ever handed to
``eval``/``exec``/``compile``: there is no attribute access, no import, no loop, no comprehension,
no lambda, and only a fixed table of pure functions can be called. Every operation that could
grow a value (big numbers, powers, repetition, concatenation) is bounded before it runs, so a
hostile expression ends in an :class:`ExpressionError` instead of exhausting memory or CPU.

Camunda models are accepted: a ``${...}`` or ``#{...}`` wrapper is removed, and inside it
``&&``, ``||`` and ``!x`` are read as ``and``, ``or`` and ``not x``.
"""

from __future__ import annotations

import ast
import datetime as dt
import functools
import itertools
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "MAX_AST_NODES",
    "MAX_DEPTH",
    "MAX_INT",
    "MAX_POWER_EXPONENT",
    "MAX_SEQUENCE",
    "MAX_SOURCE_LENGTH",
    "MAX_WEIGHT",
    "MAX_WORK",
    "FUNCTIONS",
    "Expression",
    "ExpressionError",
    "check",
    "compile_expression",
    "evaluate",
    "names_used",
]

MAX_SOURCE_LENGTH = 2_000
MAX_AST_NODES = 300
MAX_DEPTH = 32
MAX_INT = 2**256
MAX_POWER_EXPONENT = 64
MAX_SEQUENCE = 10_000
#: Upper bound on the total nested size (items plus characters) of a value the expression builds.
MAX_WEIGHT = 100_000
MAX_NUMBER_TEXT = 100
MAX_ROUND_DIGITS = 64
#: Upper bound on items walked by built-in operations in one evaluation (see ``_Budget``).
MAX_WORK = 2_000_000

_ALIASES: dict[str, Any] = {"true": True, "false": False, "null": None}
_END = object()


class ExpressionError(Exception):
    """An expression that cannot be compiled or evaluated; ``message`` is meant for a person."""

    def __init__(self, message: str, expression: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.expression = expression

    def __str__(self) -> str:
        return self.message


class _Fail(Exception):
    """Internal: raised while walking; turned into ExpressionError with the source attached."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Expression:
    """A checked expression, ready to evaluate any number of times."""

    source: str
    #: The Python-subset text actually parsed (after the Camunda wrapper/operators are translated).
    text: str = field(compare=False)
    tree: ast.expr = field(compare=False, repr=False)
    names: frozenset[str] = field(compare=False)


# --------------------------------------------------------------------------------------------
# Value descriptions, used in messages
# --------------------------------------------------------------------------------------------


def _kind(value: Any) -> str:
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


def _is_numeric(value: Any) -> bool:
    """Numbers, counting booleans as 0/1 the way Python arithmetic does."""
    return isinstance(value, int | float)


def _short(value: Any) -> str:
    try:
        text = repr(value) if isinstance(value, str) else str(value)
    except Exception:  # a variable's own __str__/__repr__ may fail
        text = f"<{_kind(value)}>"
    return text if len(text) <= 40 else text[:37] + "..."


# --------------------------------------------------------------------------------------------
# Size bounds
# --------------------------------------------------------------------------------------------


def _checked_number(value: Any) -> Any:
    """Keep numbers inside the allowed range; other values pass through."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if -MAX_INT <= value <= MAX_INT:
            return value
        raise _Fail("number too large (the limit is 2**256)")
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        if math.isnan(value):
            raise _Fail("the result is not a number")
        raise _Fail("number too large")
    if isinstance(value, complex):
        raise _Fail("the result is not a real number")
    return value


class _Budget:
    """Per-evaluation bookkeeping: a work budget and remembered value sizes.

    ``work`` counts items the built-in operations walk (iterating, sorting, searching, copying,
    converting to text), so an expression over a large variable cannot run for long however it
    is written. ``weights`` remembers sizes by id (keeping the value alive so the id cannot be
    reused); without it ``[[big], [big], ...]`` would walk the same variable once per mention.
    """

    __slots__ = ("weights", "work")

    def __init__(self) -> None:
        self.work = 0
        self.weights: dict[int, tuple[Any, int]] = {}

    def charge(self, units: int) -> None:
        self.work += units
        if self.work > MAX_WORK:
            raise _Fail(
                f"expression does too much work (more than {MAX_WORK:,} steps over its values)"
            )


_BUDGET: ContextVar[_Budget | None] = ContextVar("flowgate_expression_budget", default=None)


def _budget() -> _Budget:
    budget = _BUDGET.get()
    return budget if budget is not None else _Budget()


def _charge(units: int) -> None:
    _budget().charge(units)


def _children(value: Any) -> Iterator[Any] | None:
    if isinstance(value, list | tuple | set | frozenset):
        return iter(value)
    if isinstance(value, Mapping):
        return itertools.chain.from_iterable(value.items())
    return None


def _weight(value: Any, limit: int = MAX_WEIGHT) -> int:
    """Total nested size of a value (1 per item or container, 1 per character).

    Counting stops at ``limit + 1``, so a huge or self-containing value costs at most ``limit``
    steps; sizes of containers are remembered for the rest of the evaluation.
    """
    if isinstance(value, str):
        return max(len(value), 1)
    root = _children(value)
    if root is None:
        return 1
    budget = _budget()
    memo = budget.weights
    known = memo.get(id(value))
    if known is not None:
        return known[1]
    seen = 1
    steps = 1  # items actually walked (remembered sizes are added to ``seen`` without walking)
    # Each frame: the container, an iterator over its children, ``seen`` before it was entered.
    frames: list[tuple[Any, Iterator[Any], int]] = [(value, root, 0)]
    while frames:
        container, children, start = frames[-1]
        child = next(children, _END)
        steps += 1
        if child is _END:
            frames.pop()
            memo[id(container)] = (container, seen - start)
            continue
        if isinstance(child, str):
            seen += max(len(child), 1)
        else:
            grandchildren = _children(child)
            if grandchildren is None:
                seen += 1
            else:
                known = memo.get(id(child))
                if known is not None:
                    seen += known[1]
                else:
                    frames.append((child, grandchildren, seen))
                    seen += 1
        if seen > limit:
            memo[id(value)] = (value, limit + 1)
            budget.charge(steps)
            return limit + 1
    budget.charge(steps)
    return seen


def _check_weight(weight: int, what: str) -> None:
    if weight > MAX_WEIGHT:
        raise _Fail(f"{what} would be too large (the limit is {MAX_WEIGHT:,} items and characters)")


def _check_length(length: int, kind: str) -> None:
    if length > MAX_SEQUENCE:
        unit = "characters" if kind == "text" else "items"
        raise _Fail(
            f"this would create a {kind} of {length:,} {unit} (the limit is {MAX_SEQUENCE:,})"
        )


# --------------------------------------------------------------------------------------------
# Functions callable from expressions
# --------------------------------------------------------------------------------------------


def _iterable(value: Any, func: str) -> list[Any]:
    if isinstance(value, str | list | tuple | set | frozenset):
        _charge(len(value))
        return list(value)
    if isinstance(value, Mapping):
        _charge(len(value))
        return list(value.keys())
    raise _Fail(f"{func}() needs a list, not {_kind(value)}")


def _text(value: Any, func: str, position: str = "") -> str:
    if not isinstance(value, str):
        where = f" ({position})" if position else ""
        raise _Fail(f"{func}() needs text{where}, not {_kind(value)}")
    return value


def _number(value: Any, func: str) -> int | float:
    if not _is_numeric(value):
        raise _Fail(f"{func}() needs a number, not {_kind(value)}")
    return value  # type: ignore[no-any-return]


def _fn_len(value: Any) -> int:
    if isinstance(value, str | list | tuple | set | frozenset | Mapping):
        return len(value)
    raise _Fail(f"len() needs text, a list or a mapping, not {_kind(value)}")


def _extreme(name: str, pick: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    if not args:
        raise _Fail(f"{name}() needs at least one value")
    items = _iterable(args[0], name) if len(args) == 1 else list(args)
    if not items:
        raise _Fail(f"{name}() of an empty list")
    try:
        return pick(items)
    except TypeError:
        raise _Fail(f"{name}() cannot compare {_mixed_kinds(items)}") from None


def _mixed_kinds(items: Iterable[Any]) -> str:
    kinds = sorted({_kind(item) for item in items})
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
        raise _Fail(f"round() needs a whole number of digits, not {_kind(digits)}")
    if abs(digits) > MAX_ROUND_DIGITS:
        raise _Fail(f"round() digits must be between -{MAX_ROUND_DIGITS} and {MAX_ROUND_DIGITS}")
    return round(number, digits)


def _number_text(value: str, func: str) -> str:
    text = value.strip()
    if len(text) > MAX_NUMBER_TEXT:
        raise _Fail(f"{func}() text is too long to be a number")
    return text


def _fn_int(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _Fail(f"cannot convert {_short(value)} to a whole number")
        return int(value)
    if isinstance(value, str):
        text = _number_text(value, "int")
        try:
            return int(text, 10)
        except ValueError:
            raise _Fail(f"cannot convert {_short(value)} to a whole number") from None
    raise _Fail(f"cannot convert {_kind(value)} to a whole number")


def _fn_float(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = _number_text(value, "float")
        try:
            number = float(text)
        except ValueError:
            raise _Fail(f"cannot convert {_short(value)} to a number") from None
        if not math.isfinite(number):
            raise _Fail(f"cannot convert {_short(value)} to a number")
        return number
    raise _Fail(f"cannot convert {_kind(value)} to a number")


def _fn_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    weight = _weight(value)
    _check_weight(weight, "the text")
    _charge(weight)
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
        found = next((_kind(item) for item in items if not _is_numeric(item)), "value")
        raise _Fail(f"sum() needs a list of numbers, found {found}") from None
    if not _is_numeric(total):
        raise _Fail("sum() needs a list of numbers")
    return total


def _fn_sorted(value: Any) -> list[Any]:
    items = _iterable(value, "sorted")
    _charge(len(items) * max(len(items).bit_length(), 1))
    try:
        return sorted(items)
    except TypeError:
        raise _Fail(f"sorted() cannot compare {_mixed_kinds(items)}") from None


def _fn_any(value: Any) -> bool:
    return any(_iterable(value, "any"))


def _fn_all(value: Any) -> bool:
    return all(_iterable(value, "all"))


def _fn_lower(value: Any) -> str:
    text = _text(value, "lower")
    _charge(len(text))
    return text.lower()


def _fn_upper(value: Any) -> str:
    text = _text(value, "upper")
    _charge(len(text))
    return text.upper()


def _fn_strip(value: Any) -> str:
    text = _text(value, "strip")
    _charge(len(text))
    return text.strip()


def _fn_startswith(value: Any, prefix: Any) -> bool:
    text = _text(value, "startswith", "first value")
    start = _text(prefix, "startswith", "second value")
    _charge(len(start))
    return text.startswith(start)


def _fn_endswith(value: Any, suffix: Any) -> bool:
    text = _text(value, "endswith", "first value")
    end = _text(suffix, "endswith", "second value")
    _charge(len(end))
    return text.endswith(end)


def _fn_contains(container: Any, item: Any) -> bool:
    return _contains(container, item)


def _mapping(value: Any, func: str) -> Mapping[Any, Any]:
    if not isinstance(value, Mapping):
        raise _Fail(f"{func}() needs a mapping, not {_kind(value)}")
    return value


def _fn_keys(value: Any) -> list[Any]:
    mapping = _mapping(value, "keys")
    _charge(len(mapping))
    return list(mapping.keys())


def _fn_values(value: Any) -> list[Any]:
    mapping = _mapping(value, "values")
    _charge(len(mapping))
    return list(mapping.values())


def _fn_get(container: Any, key: Any, default: Any = None) -> Any:
    if isinstance(container, Mapping):
        try:
            return container.get(key, default)
        except TypeError:
            raise _Fail(f"a {_kind(key)} cannot be a key of a mapping") from None
    if isinstance(container, list | tuple):
        if isinstance(key, bool) or not isinstance(key, int):
            raise _Fail(f"get() on a list needs a whole-number position, not {_kind(key)}")
        return container[key] if -len(container) <= key < len(container) else default
    if container is None:
        return default
    raise _Fail(f"get() needs a mapping or a list, not {_kind(container)}")


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
        text = value.strip()
        if len(text) > 64:
            raise _Fail(f"{func}() text is too long to be a date")
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            raise _Fail(f"{func}() cannot read {_short(value)} as an ISO-8601 date") from None
    else:
        raise _Fail(f"{func}() needs an ISO-8601 text, not {_kind(value)}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    try:
        return parsed.astimezone(dt.UTC)
    except OverflowError:
        raise _Fail(f"{func}() date {_short(value)} is out of range") from None


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


# --------------------------------------------------------------------------------------------
# Parsing and checking
# --------------------------------------------------------------------------------------------


def _strip_wrapper(source: str) -> tuple[str, bool]:
    text = source.strip()
    if len(text) >= 3 and text[0] in "$#" and text[1] == "{" and text[-1] == "}":
        return text[2:-1], True
    return text, False


def _translate_camunda(text: str) -> str:
    """Rewrite ``&&``, ``||`` and ``!x`` (not ``!=``) outside string literals."""
    replacements: dict[int, tuple[int, str]] = {}  # position -> (characters replaced, new text)
    skip_until = -1
    for position, char in _outside_strings(text):
        if position < skip_until:
            continue
        if text.startswith("&&", position):
            replacements[position] = (2, " and ")
            skip_until = position + 2
        elif text.startswith("||", position):
            replacements[position] = (2, " or ")
            skip_until = position + 2
        elif char == "!" and not text.startswith("!=", position):
            replacements[position] = (1, " not ")
    out: list[str] = []
    position = 0
    for start in sorted(replacements):
        length, new = replacements[start]
        out.append(text[position:start])
        out.append(new)
        position = start + length
    out.append(text[position:])
    return "".join(out)


_BIN_OPS: dict[type[ast.operator], str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
}

_CMP_OPS: tuple[type[ast.cmpop], ...] = (
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.In,
    ast.NotIn,
    ast.Is,
    ast.IsNot,
)

_FORBIDDEN: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access (a.b) is not allowed; use a['b'] or get(a, 'b')",
    ast.Lambda: "lambda is not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "generator expressions are not allowed",
    ast.NamedExpr: "assignment (:=) is not allowed",
    ast.JoinedStr: "f-strings are not allowed; join text with + and str()",
    ast.FormattedValue: "f-strings are not allowed; join text with + and str()",
    ast.Starred: "unpacking with * is not allowed",
    ast.Await: "await is not allowed",
    ast.Yield: "yield is not allowed",
    ast.YieldFrom: "yield is not allowed",
}


def _syntax_message(error: SyntaxError, text: str) -> str:
    detail = error.msg or "invalid syntax"
    where = f" at column {error.offset}" if error.offset else ""
    hint = ""
    outside = "".join(char for _, char in _outside_strings(text))
    if "&&" in outside or "||" in outside:
        hint = "; use 'and'/'or' (or wrap Camunda syntax in ${...})"
    elif outside.replace("!=", "").count("!"):
        hint = "; use 'not' instead of '!' (or wrap Camunda syntax in ${...})"
    return f"invalid expression: {detail}{where}{hint}"


def _parse(source: str) -> tuple[str, ast.expr]:
    if not isinstance(source, str):
        raise _Fail(f"an expression must be text, not {type(source).__name__}")
    if len(source) > MAX_SOURCE_LENGTH:
        raise _Fail(
            f"expression is too long ({len(source):,} characters; the limit is "
            f"{MAX_SOURCE_LENGTH:,})"
        )
    text, wrapped = _strip_wrapper(source)
    if wrapped:
        text = _translate_camunda(text)
    if not text.strip():
        raise _Fail("expression is empty")
    _check_bracket_depth(text)
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        raise _Fail(_syntax_message(error, text)) from None
    except (ValueError, TypeError, Warning):
        # ValueError: NUL bytes; Warning: only when warnings are configured as errors.
        raise _Fail("invalid expression: it contains characters that are not allowed") from None
    except (RecursionError, MemoryError, OverflowError):
        raise _Fail("expression is too deeply nested or too complex") from None
    return text, tree.body


def _outside_strings(text: str) -> Iterator[tuple[int, str]]:
    """(position, character) for every character outside '...' and "..." literals."""
    quote = ""
    escaped = False
    for position, char in enumerate(text):
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        else:
            yield position, char


def _check_bracket_depth(text: str) -> None:
    """Reject absurd bracket nesting before the parser recurses into it."""
    depth = 0
    for _, char in _outside_strings(text):
        if char in "([{":
            depth += 1
            if depth > MAX_DEPTH:
                raise _Fail(f"expression is nested too deeply (the limit is {MAX_DEPTH} levels)")
        elif char in ")]}":
            depth -= 1


def _validate(tree: ast.expr) -> frozenset[str]:
    """Check every node against the whitelist; return the variable names used."""
    names: set[str] = set()
    count = 0
    stack: list[tuple[ast.AST, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, ast.expr_context | ast.operator | ast.cmpop | ast.boolop):
            continue
        if isinstance(node, ast.unaryop):
            continue
        count += 1
        if count > MAX_AST_NODES:
            raise _Fail(f"expression is too complex (more than {MAX_AST_NODES} parts)")
        if depth > MAX_DEPTH:
            raise _Fail(f"expression is nested too deeply (the limit is {MAX_DEPTH} levels)")
        _validate_node(node, names)
        for child in ast.iter_child_nodes(node):
            if isinstance(node, ast.Call) and child is node.func:
                continue
            stack.append((child, depth + 1))
    return frozenset(names)


def _validate_node(node: ast.AST, names: set[str]) -> None:
    forbidden = _FORBIDDEN.get(type(node))
    if forbidden:
        raise _Fail(forbidden)
    if isinstance(node, ast.Constant):
        _validate_constant(node.value)
    elif isinstance(node, ast.Name):
        _validate_name(node.id)
        if node.id not in _ALIASES:
            names.add(node.id)
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in _BIN_OPS:
            raise _Fail("bitwise operators and @ are not allowed")
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, ast.Not | ast.USub | ast.UAdd):
            raise _Fail("the ~ operator is not allowed")
    elif isinstance(node, ast.Compare):
        for op in node.ops:
            if not isinstance(op, _CMP_OPS):  # pragma: no cover - all Python comparisons listed
                raise _Fail("this comparison is not allowed")
    elif isinstance(node, ast.Dict):
        if any(key is None for key in node.keys):
            raise _Fail("unpacking with ** is not allowed")
    elif isinstance(node, ast.Call):
        _validate_call(node)
    elif not isinstance(
        node,
        ast.BoolOp | ast.IfExp | ast.List | ast.Tuple | ast.Set | ast.Subscript | ast.Slice,
    ):
        raise _Fail(f"{type(node).__name__} is not allowed in an expression")


def _validate_constant(value: Any) -> None:
    if value is None or isinstance(value, bool | str):
        return
    if isinstance(value, int):
        if abs(value) > MAX_INT:
            raise _Fail("number too large (the limit is 2**256)")
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _Fail("number too large")
        return
    raise _Fail(f"{type(value).__name__} literals are not allowed")


def _validate_name(name: str) -> None:
    if name.startswith("_"):
        raise _Fail(f"names starting with '_' are not allowed ({name!r})")


def _validate_call(node: ast.Call) -> None:
    if isinstance(node.func, ast.Attribute):
        raise _Fail(_FORBIDDEN[ast.Attribute])
    if not isinstance(node.func, ast.Name):
        raise _Fail("only the built-in functions can be called, by name (e.g. len(x))")
    name = node.func.id
    _validate_name(name)
    function = FUNCTIONS.get(name)
    if function is None:
        raise _Fail(f"unknown function '{name}'; allowed: {', '.join(sorted(FUNCTIONS))}")
    if node.keywords:
        raise _Fail(f"{name}() does not take named arguments ({function.usage})")
    count = len(node.args)
    if count < function.min_args or (function.max_args is not None and count > function.max_args):
        raise _Fail(f"{name}() called with {count} argument(s); usage: {function.usage}")


@functools.lru_cache(maxsize=1024)
def _compile_cached(source: str) -> Expression:
    try:
        text, tree = _parse(source)
        names = _validate(tree)
    except _Fail as error:
        raise ExpressionError(error.message, source) from None
    except (RecursionError, MemoryError):
        raise ExpressionError("expression is too deeply nested or too complex", source) from None
    return Expression(source=source, text=text, tree=tree, names=names)


def compile_expression(source: str) -> Expression:
    """Parse and check ``source``; raise :class:`ExpressionError` with a readable message.

    Results are cached by text, so checking at deploy and evaluating later parse once.
    """
    if not isinstance(source, str):
        raise ExpressionError(
            f"an expression must be text, not {type(source).__name__}", repr(source)[:100]
        )
    # A str subclass (lxml's attribute results) may keep a whole XML tree alive in the cache.
    return _compile_cached(str.__str__(source))


def check(source: str) -> str | None:
    """The problem with ``source`` as a person-readable message, or ``None`` if it is fine."""
    try:
        compile_expression(source)
    except ExpressionError as error:
        return error.message
    return None


def names_used(source: str) -> set[str]:
    """Variable names ``source`` reads (not functions, not true/false/null).

    Raises :class:`ExpressionError` if ``source`` does not compile.
    """
    return set(compile_expression(source).names)


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------


def evaluate(source_or_compiled: str | Expression, variables: Mapping[str, Any]) -> Any:
    """Evaluate an expression against ``variables``; only ever raises :class:`ExpressionError`."""
    if isinstance(source_or_compiled, Expression):
        expression = source_or_compiled
    else:
        expression = compile_expression(source_or_compiled)
    token = _BUDGET.set(_Budget())
    try:
        return _Evaluator(variables).run(expression.tree)
    except _Fail as error:
        raise ExpressionError(error.message, expression.source) from None
    except ExpressionError:
        raise
    except RecursionError:
        raise ExpressionError(
            "a value is nested too deeply to evaluate", expression.source
        ) from None
    except MemoryError:
        raise ExpressionError("evaluation ran out of memory", expression.source) from None
    except Exception as error:  # the contract: only ExpressionError escapes
        raise ExpressionError(
            f"could not evaluate: {type(error).__name__}: {_short(error)}", expression.source
        ) from None
    finally:
        _BUDGET.reset(token)


def _contains(container: Any, item: Any) -> bool:
    if isinstance(container, str):
        if not isinstance(item, str):
            raise _Fail(f"cannot look for {_kind(item)} in text")
        _charge(len(container))
        return item in container
    if isinstance(container, list | tuple):
        _charge(len(container))
        return item in container
    if isinstance(container, Mapping | set | frozenset):
        try:
            return item in container
        except TypeError:
            raise _Fail(f"a {_kind(item)} cannot be a key of a {_kind(container)}") from None
    raise _Fail(f"cannot look inside {_kind(container)} with 'in'")


def _charge_comparison(left: Any, right: Any) -> None:
    """Comparing texts or containers walks them; charge for it."""
    if isinstance(left, str) and isinstance(right, str):
        _charge(min(len(left), len(right)))
    elif _children(left) is not None and _children(right) is not None:
        _weight(left)
        _weight(right)


def _compare(op: ast.cmpop, left: Any, right: Any) -> bool:
    _charge_comparison(left, right)
    if isinstance(op, ast.Eq):
        return bool(left == right)
    if isinstance(op, ast.NotEq):
        return bool(left != right)
    if isinstance(op, ast.In):
        return _contains(right, left)
    if isinstance(op, ast.NotIn):
        return not _contains(right, left)
    if isinstance(op, ast.Is | ast.IsNot):
        if not (left is None or right is None or isinstance(left, bool) or isinstance(right, bool)):
            raise _Fail("'is' only compares with null, true or false; use == instead")
        same = left is right
        return same if isinstance(op, ast.Is) else not same
    if _is_numeric(left) and _is_numeric(right):
        pass
    elif _kind(left) != _kind(right):
        raise _Fail(f"cannot compare {_kind(left)} with {_kind(right)}")
    elif isinstance(left, list) != isinstance(right, list):
        raise _Fail("cannot compare a list with a tuple")
    try:
        if isinstance(op, ast.Lt):
            return bool(left < right)
        if isinstance(op, ast.LtE):
            return bool(left <= right)
        if isinstance(op, ast.Gt):
            return bool(left > right)
        return bool(left >= right)
    except TypeError:
        detail = ": their items differ in type" if isinstance(left, list | tuple) else ""
        raise _Fail(f"cannot compare {_kind(left)} with {_kind(right)}{detail}") from None


def _repeat(sequence: Any, times: Any) -> Any:
    if isinstance(times, bool) or not isinstance(times, int):
        raise _Fail(f"a {_kind(sequence)} can only be repeated a whole number of times")
    count = max(times, 0)
    kind = "text" if isinstance(sequence, str) else "list"
    _check_length(len(sequence) * count, kind)
    if not isinstance(sequence, str):
        _check_weight(_weight(sequence) * count, "the list")
    return sequence * count


def _concat(left: Any, right: Any) -> Any:
    kind = "text" if isinstance(left, str) else "list"
    _check_length(len(left) + len(right), kind)
    if not isinstance(left, str):
        _check_weight(_weight(left) + _weight(right), "the list")
    return left + right


def _power(base: Any, exponent: Any) -> Any:
    if abs(exponent) > MAX_POWER_EXPONENT:
        raise _Fail(f"exponent too large (the limit is {MAX_POWER_EXPONENT})")
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0:
        if abs(base) > 1 and (abs(base).bit_length() - 1) * exponent > 256:
            raise _Fail("number too large (the limit is 2**256)")
    return base**exponent


def _arithmetic(op: ast.operator, left: Any, right: Any) -> Any:
    symbol = _BIN_OPS[type(op)]
    if _is_numeric(left) and _is_numeric(right):
        try:
            if symbol == "+":
                result = left + right
            elif symbol == "-":
                result = left - right
            elif symbol == "*":
                result = left * right
            elif symbol == "/":
                result = left / right
            elif symbol == "//":
                result = left // right
            elif symbol == "%":
                result = left % right
            else:
                result = _power(left, right)
        except ZeroDivisionError:
            raise _Fail("division by zero") from None
        except OverflowError:
            raise _Fail("number too large") from None
        return _checked_number(result)
    if symbol == "+":
        if isinstance(left, str) and isinstance(right, str):
            return _concat(left, right)
        if isinstance(left, list) and isinstance(right, list):
            return _concat(left, right)
        if isinstance(left, tuple) and isinstance(right, tuple):
            return _concat(left, right)
    if symbol == "*":
        if isinstance(left, str | list | tuple) and _is_numeric(right):
            return _repeat(left, right)
        if isinstance(right, str | list | tuple) and _is_numeric(left):
            return _repeat(right, left)
    raise _Fail(f"cannot apply {symbol} to {_kind(left)} and {_kind(right)}")


def _index(value: Any, key: Any) -> Any:
    if isinstance(value, Mapping):
        try:
            return value[key]
        except KeyError:
            raise _Fail(f"key {_short(key)} not found") from None
        except TypeError:
            raise _Fail(f"a {_kind(key)} cannot be a key of a mapping") from None
    if isinstance(value, str | list | tuple):
        if isinstance(key, bool) or not isinstance(key, int):
            raise _Fail(f"a {_kind(value)} position must be a whole number, not {_kind(key)}")
        try:
            return value[key]
        except IndexError:
            raise _Fail(f"position {key} is out of range (length {len(value)})") from None
    raise _Fail(f"cannot take an item of {_kind(value)}")


def _slice_bound(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Fail(f"slice bounds must be whole numbers, not {_kind(value)}")
    return value


class _Evaluator:
    def __init__(self, variables: Mapping[str, Any]) -> None:
        self.variables = variables

    def run(self, node: ast.expr) -> Any:
        return self.visit(node)

    def visit(self, node: ast.expr) -> Any:
        method = getattr(self, "visit_" + type(node).__name__, None)
        if method is None:  # pragma: no cover - _validate rejects unknown nodes first
            raise _Fail(f"{type(node).__name__} is not allowed in an expression")
        return method(node)

    def visit_Constant(self, node: ast.Constant) -> Any:
        return node.value

    def visit_Name(self, node: ast.Name) -> Any:
        if node.id in _ALIASES:
            return _ALIASES[node.id]
        try:
            return self.variables[node.id]
        except KeyError:
            raise _Fail(f"unknown variable '{node.id}'") from None

    def visit_List(self, node: ast.List) -> list[Any]:
        items = [self.visit(item) for item in node.elts]
        _check_weight(_weight(items), "the list")
        return items

    def visit_Tuple(self, node: ast.Tuple) -> tuple[Any, ...]:
        items = tuple(self.visit(item) for item in node.elts)
        _check_weight(_weight(items), "the list")
        return items

    def visit_Set(self, node: ast.Set) -> set[Any]:
        items = [self.visit(item) for item in node.elts]
        _check_weight(_weight(items), "the set")
        try:
            return set(items)
        except TypeError:
            raise _Fail("lists, sets and mappings cannot be items of a set") from None

    def visit_Dict(self, node: ast.Dict) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        for key_node, value_node in zip(node.keys, node.values, strict=True):
            assert key_node is not None  # noqa: S101 - _validate rejects ** unpacking
            key = self.visit(key_node)
            value = self.visit(value_node)
            try:
                result[key] = value
            except TypeError:
                raise _Fail(f"a {_kind(key)} cannot be a key of a mapping") from None
        _check_weight(_weight(result), "the mapping")
        return result

    def visit_BoolOp(self, node: ast.BoolOp) -> Any:
        is_and = isinstance(node.op, ast.And)
        value: Any = None
        for operand in node.values:
            value = self.visit(operand)
            if bool(value) != is_and:
                return value
        return value

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Any:
        operand = self.visit(node.operand)
        if isinstance(node.op, ast.Not):
            return not operand
        if not _is_numeric(operand):
            sign = "-" if isinstance(node.op, ast.USub) else "+"
            raise _Fail(f"cannot apply {sign} to {_kind(operand)}")
        return _checked_number(-operand if isinstance(node.op, ast.USub) else +operand)

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        left = self.visit(node.left)
        right = self.visit(node.right)
        return _arithmetic(node.op, left, right)

    def visit_Compare(self, node: ast.Compare) -> bool:
        left = self.visit(node.left)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = self.visit(right_node)
            if not _compare(op, left, right):
                return False
            left = right
        return True

    def visit_IfExp(self, node: ast.IfExp) -> Any:
        return self.visit(node.body) if self.visit(node.test) else self.visit(node.orelse)

    def visit_Subscript(self, node: ast.Subscript) -> Any:
        value = self.visit(node.value)
        if isinstance(node.slice, ast.Slice):
            if not isinstance(value, str | list | tuple):
                raise _Fail(f"cannot slice {_kind(value)}")
            lower = _slice_bound(self.visit(node.slice.lower) if node.slice.lower else None)
            upper = _slice_bound(self.visit(node.slice.upper) if node.slice.upper else None)
            step = _slice_bound(self.visit(node.slice.step) if node.slice.step else None)
            if step == 0:
                raise _Fail("slice step cannot be zero")
            result = value[lower:upper:step]
            _charge(len(result))
            return result
        return _index(value, self.visit(node.slice))

    def visit_Call(self, node: ast.Call) -> Any:
        assert isinstance(node.func, ast.Name)  # noqa: S101 - _validate guarantees it
        function = FUNCTIONS[node.func.id]
        args = [self.visit(arg) for arg in node.args]
        return _checked_number(function.impl(*args))
