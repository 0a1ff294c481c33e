"""FEEL expressions of a DMN file (input expressions, output entries, literal decisions)
compiled to run, and FEEL's temporal values.

The translation to the Flowgate expression language is ``expressions.from_feel`` (shared with
the Camunda 8 importer): literals, names and paths (``a.b`` -> ``a['b']``), arithmetic,
comparisons (``=`` -> ``==``), ``and``/``or``/``not(...)``, lists, one ``if .. then .. else ..``,
and FEEL's built-in functions that have a Flowgate twin (``string length`` -> ``len``,
``upper case`` -> ``upper`` ...). Anything else (``for``, ``some``/``every``, function
definitions, contexts, ``duration(...)`` and ``@"..."`` outside input entries) is refused when
the file is deployed, with the cell named: never guessed at run time.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..expressions import Expression, ExpressionError, compile_expression, evaluate
from ..expressions.from_feel import (
    DURATION_FUNCTION,
    TEMPORAL_LITERAL,
    FeelUnsupported,
    translate_feel,
)

_NAME_PATH = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_KEYWORDS = {"true": True, "false": False, "null": None}


class FeelError(Exception):
    """A FEEL text that Flowgate does not translate; ``message`` says what and why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Variables(dict):
    """FEEL reads an unknown name as null; the Flowgate evaluator asks ``variables[name]``."""

    def __missing__(self, key: str) -> Any:
        return None


def translate(source: str) -> str:
    """FEEL text -> Flowgate expression text (``expressions.from_feel``, the one translator);
    raises FeelError, worded for a DMN cell, for what is not translated."""
    try:
        return translate_feel(source, refuse=(DURATION_FUNCTION,))
    except FeelUnsupported as unsupported:
        if unsupported.construct is TEMPORAL_LITERAL:
            raise FeelError(
                'temporal literals (@"...") are only supported in input entries'
            ) from None
        raise FeelError(
            f"it uses {unsupported.construct.what}, which Flowgate does not run"
        ) from None


@dataclass(frozen=True)
class CompiledExpression:
    """A FEEL expression ready to run: a constant, a name path, or a checked Flowgate expression."""

    source: str
    constant: Any = None
    path: tuple[str, ...] | None = None
    expression: Expression | None = None

    @property
    def is_empty(self) -> bool:
        return not self.source.strip()

    def evaluate(self, variables: Mapping[str, Any]) -> Any:
        """Raises ExpressionError (the caller names the cell)."""
        if self.path is not None:
            value: Any = variables
            for part in self.path:
                if not isinstance(value, Mapping):
                    return None
                value = value.get(part)
            return value
        if self.expression is not None:
            return evaluate(self.expression, Variables(variables))
        return self.constant


def literal(text: str) -> tuple[bool, Any]:
    """(True, value) when ``text`` is a FEEL literal (number, "string", true/false/null)."""
    text = text.strip()
    if text in _KEYWORDS:
        return True, _KEYWORDS[text]
    if _NUMBER.fullmatch(text):
        return True, (float(text) if "." in text else int(text))
    if _STRING.fullmatch(text):
        return True, unescape(text[1:-1])
    return False, None


def unescape(body: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def compile_feel(source: str | None) -> CompiledExpression:
    """Compile a FEEL expression; raises FeelError with a message for a person."""
    text = (source or "").strip()
    if not text:
        return CompiledExpression(source="")
    body = text[1:].strip() if text.startswith("=") else text
    is_literal, value = literal(body)
    if is_literal:
        return CompiledExpression(source=text, constant=value)
    if _NAME_PATH.fullmatch(body) and body not in _KEYWORDS:
        parts = tuple(body.split("."))
        if any(part.startswith("_") for part in parts):
            raise FeelError(f"names starting with '_' are not allowed ({body!r})")
        return CompiledExpression(source=text, path=parts)
    try:
        expression = compile_expression(translate(text))
    except ExpressionError as error:
        raise FeelError(error.message) from None
    return CompiledExpression(source=text, expression=expression)


# ---------------------------------------------------------------------------------------------
# Temporal values: dates, date-times and durations
# ---------------------------------------------------------------------------------------------

_DURATION = re.compile(
    r"(?P<sign>-)?P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?"
)


@dataclass(frozen=True, order=True)
class YearsMonths:
    """A years-and-months duration (``P1Y6M``), compared by its total months."""

    months: int


def parse_duration(text: str) -> dt.timedelta | YearsMonths | None:
    """An ISO-8601 duration as FEEL reads it: years/months -> YearsMonths, else a timedelta."""
    match = _DURATION.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None or text.strip() in ("P", "-P") or text.strip().endswith("T"):
        return None
    parts = {k: v for k, v in match.groupdict().items() if v and k != "sign"}
    sign = -1 if match.group("sign") else 1
    if parts.keys() <= {"years", "months"}:
        return YearsMonths(sign * (int(parts.get("years", 0)) * 12 + int(parts.get("months", 0))))
    if parts.keys() & {"years", "months"}:
        return None  # FEEL has no duration mixing months and days
    delta = dt.timedelta(
        weeks=int(parts.get("weeks", 0)),
        days=int(parts.get("days", 0)),
        hours=int(parts.get("hours", 0)),
        minutes=int(parts.get("minutes", 0)),
        seconds=float(parts.get("seconds", 0)),
    )
    return -delta if sign < 0 else delta


def parse_date(text: Any) -> dt.date | None:
    if isinstance(text, dt.datetime):
        return text.date()
    if isinstance(text, dt.date):
        return text
    if not isinstance(text, str) or len(text) > 40:
        return None
    try:
        return dt.date.fromisoformat(text.strip()[:10]) if len(text.strip()) >= 10 else None
    except ValueError:
        return None


def parse_datetime(text: Any) -> dt.datetime | None:
    if isinstance(text, dt.datetime):
        value = text
    elif isinstance(text, dt.date):
        value = dt.datetime(text.year, text.month, text.day, tzinfo=dt.UTC)
    elif isinstance(text, str) and len(text) <= 40:
        raw = text.strip()
        if raw.endswith(("Z", "z")):
            raw = raw[:-1] + "+00:00"
        raw = re.sub(r"@[\w/+-]+$", "", raw)  # a zone id: FEEL's "...@Europe/Paris"
        try:
            value = dt.datetime.fromisoformat(raw)
        except ValueError:
            return None
    else:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def coerce_like(value: Any, example: Any) -> Any:
    """Read an input (often ISO text from a form) as the temporal kind of ``example``; the
    value unchanged when it is not temporal or cannot be read."""
    if isinstance(example, dt.datetime):
        return parse_datetime(value) or value
    if isinstance(example, dt.date):
        if isinstance(value, dt.datetime):
            return value.date()
        return parse_date(value) if isinstance(value, str) and len(value.strip()) == 10 else value
    if isinstance(example, dt.time) and isinstance(value, str) and len(value) <= 20:
        try:
            return dt.time.fromisoformat(value.strip())
        except ValueError:
            return value
    if isinstance(example, dt.timedelta | YearsMonths) and isinstance(value, str):
        return parse_duration(value) or value
    return value
