"""FEEL simple unary tests, the language of input entries and allowed values.

``-`` or empty (anything), ``null``, a value (``"gold"``, ``10``, ``true``), a comparison
(``< 10``, ``>= date("2024-01-01")``), an interval (``[1..5]``, ``]1000..100000]``,
``(1..5)``), a comma-separated list of those (any may match), ``not(...)`` of a list, and an
expression on the input written with ``?`` (``? > amount * 2``). Endpoints are literals,
temporal values (``date("...")``, ``date and time("...")``, ``duration("P3D")``, ``@"..."``)
or names of other variables. Everything is parsed when the file is deployed; matching never
raises for a type mismatch (FEEL answers null there, which does not match).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..expressions import ExpressionError, outside_strings
from .feel import (
    CompiledExpression,
    FeelError,
    Variables,
    YearsMonths,
    coerce_like,
    compile_feel,
    literal,
    parse_date,
    parse_datetime,
    parse_duration,
)

QUESTION_NAME = "dmn_cell_value"
FEEL_QUOTES = '"'  # FEEL's only string quote: a test splits at a comma inside '...'.
_TEMPORAL = re.compile(
    r'^(?P<fn>date and time|date|time|duration)\s*\(\s*"(?P<text>[^"]*)"\s*\)$|^@"(?P<at>[^"]*)"$'
)
_COMPARISON = re.compile(r"^(<=|>=|!=|<|>|=)\s*(.+)$", re.S)
_INTERVAL = re.compile(r"^([\[\](])\s*(.+?)\s*\.\.\s*(.+?)\s*([\[\])])$", re.S)


@dataclass(frozen=True)
class Endpoint:
    """A value in a test: known when deployed (``value``) or read from variables (``expr``)."""

    value: Any = None
    expr: CompiledExpression | None = None

    def resolve(self, variables: Mapping[str, Any]) -> Any:
        return self.expr.evaluate(variables) if self.expr is not None else self.value


def _temporal(text: str) -> tuple[bool, Any]:
    match = _TEMPORAL.match(text)
    if not match:
        return False, None
    raw = match.group("text") if match.group("fn") else match.group("at")
    fn = match.group("fn") or ("duration" if raw.lstrip("-").startswith("P") else "at")
    if fn == "duration":
        value: Any = parse_duration(raw)
    elif fn == "date" or (fn == "at" and len(raw) == 10):
        value = parse_date(raw) if len(raw) == 10 else None
    elif fn == "time":
        try:
            value = dt.time.fromisoformat(raw)
        except ValueError:
            value = None
    else:
        value = parse_datetime(raw)
    if value is None:
        raise FeelError(f"{text} is not a valid {fn if fn != 'at' else 'date or time'}")
    return True, value


def _endpoint(text: str) -> Endpoint:
    text = text.strip()
    if not text:
        raise FeelError("a value is missing")
    is_literal, value = literal(text)
    if is_literal:
        return Endpoint(value=value)
    is_temporal, value = _temporal(text)
    if is_temporal:
        return Endpoint(value=value)
    return Endpoint(expr=compile_feel(text))


def _comparable(left: Any, right: Any) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool)
    if isinstance(left, int | float) and isinstance(right, int | float):
        return True
    if isinstance(left, dt.datetime) or isinstance(right, dt.datetime):
        return isinstance(left, dt.datetime) and isinstance(right, dt.datetime)
    return type(left) is type(right)


def _prepare(value: Any, bound: Any) -> tuple[Any, Any] | None:
    """The input read like ``bound`` (temporal text -> value); None when they cannot compare."""
    if value is None or bound is None:
        return None
    value = coerce_like(value, bound)
    return (value, bound) if _comparable(value, bound) else None


@dataclass(frozen=True)
class Test:
    """One positive unary test."""

    kind: str  # "eq", "ne", "lt", "le", "gt", "ge", "interval", "null", "expr"
    low: Endpoint | None = None
    high: Endpoint | None = None
    low_open: bool = False
    high_open: bool = False
    expr: CompiledExpression | None = None

    def matches(self, value: Any, variables: Mapping[str, Any]) -> bool:
        kind = self.kind
        if kind == "null":
            return value is None
        if kind == "expr":
            assert self.expr is not None  # noqa: S101 - built with one
            scope = Variables(variables)
            scope[QUESTION_NAME] = value
            return self.expr.evaluate(scope) is True
        assert self.low is not None  # noqa: S101 - every other kind has a first endpoint
        bound = self.low.resolve(variables)
        if kind == "eq":
            if isinstance(bound, list):  # FEEL: an input equal to a list's item
                return any(self._equal(value, item) for item in bound)
            if self._equal(value, bound):
                return True
            # FEEL (as Camunda 8 reads it): an expression that is true or false decides by
            # itself, e.g. `amount > limit` in a column about something else.
            return (
                self.low.expr is not None
                and isinstance(bound, bool)
                and not isinstance(value, bool)
                and bound
            )
        if kind == "ne":
            return value is not None and bound is not None and not self._equal(value, bound)
        pair = _prepare(value, bound)
        if pair is None:
            return False
        value, bound = pair
        try:
            if kind == "lt":
                return bool(value < bound)
            if kind == "le":
                return bool(value <= bound)
            if kind == "gt":
                return bool(value > bound)
            if kind == "ge":
                return bool(value >= bound)
            assert self.high is not None  # noqa: S101 - intervals have both endpoints
            high = self.high.resolve(variables)
            upper = _prepare(value, high)
            if upper is None:
                return False
            above = value > bound if self.low_open else value >= bound
            below = upper[0] < upper[1] if self.high_open else upper[0] <= upper[1]
            return bool(above and below)
        except TypeError:
            return False

    @staticmethod
    def _equal(value: Any, bound: Any) -> bool:
        if bound is None or value is None:
            return bound is None and value is None
        pair = _prepare(value, bound)
        return pair is not None and pair[0] == pair[1]

    @property
    def literal_value(self) -> Any:
        """The value of an ``eq`` test known at deploy (allowed values, priorities)."""
        if self.kind == "eq" and self.low is not None and self.low.expr is None:
            return self.low.value
        return None


def _split(text: str) -> list[str]:
    """Split on commas outside strings and function calls (``date("..")``); interval brackets
    do not nest (``]1..5]`` opens with ']'), so they are not counted."""
    parts, calls, start, previous = [], 0, 0, ""
    for position, char in outside_strings(text, quotes=FEEL_QUOTES):
        if char == "(" and (previous.isalnum() or previous == "_"):
            calls += 1
        elif char == ")" and calls:
            calls -= 1
        elif char == "," and calls == 0:
            parts.append(text[start:position])
            start = position + 1
        if not char.isspace():
            previous = char
    parts.append(text[start:])
    out = _lists_rejoined([p.strip() for p in parts])
    if any(not p for p in out):
        raise FeelError("an empty test between commas")
    return out


def _lists_rejoined(parts: list[str]) -> list[str]:
    """A list literal (``[1, 2, 3]``: brackets without ``..``) was split at its commas: join it."""
    out: list[str] = []
    pending: str | None = None
    for part in parts:
        if pending is not None:
            pending += ", " + part
            if part.endswith("]"):
                out.append(pending)
                pending = None
        elif part.startswith("[") and ".." not in part and not part.endswith("]"):
            pending = part
        else:
            out.append(part)
    if pending is not None:
        out.append(pending)
    return out


def _positive(text: str) -> Test:
    if text == "null":
        return Test("null")
    interval = _INTERVAL.match(text)
    if interval:
        opener, low, high, closer = interval.groups()
        return Test(
            "interval",
            low=_endpoint(low),
            high=_endpoint(high),
            low_open=opener in "](",
            high_open=closer in "[)",
        )
    comparison = _COMPARISON.match(text)
    if comparison:
        op, rest = comparison.groups()
        kind = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge", "=": "eq", "!=": "ne"}[op]
        return Test(kind, low=_endpoint(rest))
    return Test("eq", low=_endpoint(text))


@dataclass(frozen=True)
class UnaryTests:
    """A whole input entry: ``any`` for ``-``; else (negated) any-of ``tests``."""

    source: str
    tests: tuple[Test, ...] = ()
    negated: bool = False
    any: bool = False

    def matches(self, value: Any, variables: Mapping[str, Any]) -> bool:
        if self.any:
            return True
        hit = False
        for test in self.tests:
            if test.matches(value, variables):
                hit = True
                break
        return hit != self.negated

    @property
    def literal_values(self) -> list[Any]:
        """The listed values in order (the priority order of an output's allowed values)."""
        return [t.literal_value for t in self.tests if t.kind == "eq"]


def _has_question_mark(text: str) -> bool:
    return any(char == "?" for _, char in outside_strings(text, quotes=FEEL_QUOTES))


def _input_variable_at(text: str, name: str | None) -> set[int]:
    """Where Camunda 7's input variable (``cellInput``, or the input's camunda:inputVariable)
    stands for the input value outside strings: read like ``?``."""
    if not name:
        return set()
    outside = {pos for pos, _ in outside_strings(text, quotes=FEEL_QUOTES)}
    return {
        m.start()
        for m in re.finditer(rf"(?<![\w.]){re.escape(name)}(?![\w(])", text)
        if m.start() in outside
    }


def compile_unary_tests(source: str | None, input_variable: str | None = None) -> UnaryTests:
    """Parse an input entry; raises FeelError with a message for a person. ``input_variable``:
    the name (Camunda 7: ``cellInput``) that stands for the input value, like ``?``."""
    text = (source or "").strip()
    if text in ("", "-"):
        return UnaryTests(source=text, any=True)
    named = _input_variable_at(text, input_variable)
    if named:
        assert input_variable is not None  # noqa: S101 - found only when given
        out, position = [], 0
        for start in sorted(named):
            out.append(text[position:start])
            out.append("?")
            position = start + len(input_variable)
        out.append(text[position:])
        return replace(compile_unary_tests("".join(out)), source=text)
    if _has_question_mark(text):
        marks = {pos for pos, char in outside_strings(text, quotes=FEEL_QUOTES) if char == "?"}
        masked = "".join(QUESTION_NAME if pos in marks else char for pos, char in enumerate(text))
        try:
            expression = compile_feel(masked)
        except (FeelError, ExpressionError) as error:
            raise FeelError(getattr(error, "message", str(error))) from None
        return UnaryTests(source=text, tests=(Test("expr", expr=expression),))
    negated = False
    body = text
    if body.startswith("not(") and body.endswith(")"):
        negated, body = True, body[4:-1].strip()
        if not body:
            raise FeelError("not() needs at least one test")
    tests = tuple(_positive(part) for part in _split(body))
    return UnaryTests(source=text, tests=tests, negated=negated)


def is_temporal(value: Any) -> bool:
    return isinstance(value, dt.date | dt.time | dt.timedelta | YearsMonths)
