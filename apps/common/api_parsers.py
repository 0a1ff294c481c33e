"""The API's JSON parser: DRF's, plus the checks that keep hostile JSON out of the engine and the
database (found by tests/security/test_bodies.py; each was a 500 before):

- nesting deeper than ``MAX_JSON_DEPTH`` (Python's json module recurses: very deep arrays raised
  RecursionError, and moderately deep ones broke later, in the engine);
- numbers that overflow to infinity (``1e999``), NaN and Infinity (not JSON; the database refuses
  them);
- text with NUL characters (PostgreSQL's jsonb refuses ``\\u0000``) or lone UTF-16 surrogates
  (``\\ud800``: cannot be encoded as UTF-8).

Each is a 400 ``parse_error`` with a message saying what to change.
"""

from __future__ import annotations

import codecs
import json
import math
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import (  # type: ignore[attr-defined]  # the stubs lack it
    JSONParser,
    get_encoding,
)

MAX_JSON_DEPTH = 64


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"the number {text[:40]} is too large")
    return value


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise ParseError("JSON parse error - text may not contain NUL (\\u0000) characters.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ParseError(
            "JSON parse error - text contains an unpaired UTF-16 surrogate (like \\ud800)."
        ) from None


def check_json_value(value: Any) -> None:
    """Raises ParseError when ``value`` nests deeper than MAX_JSON_DEPTH or holds bad text.
    Iterative, so that it cannot itself run out of stack."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _check_text(item)
            continue
        if not isinstance(item, dict | list):
            continue
        if depth > MAX_JSON_DEPTH:
            raise ParseError(
                f"JSON parse error - nested more than {MAX_JSON_DEPTH} levels deep; flatten it."
            )
        if isinstance(item, dict):
            for key, child in item.items():
                _check_text(key)
                stack.append((child, depth + 1))
        else:
            stack.extend((child, depth + 1) for child in item)


def safe_json_loads(text: str | bytes) -> Any:
    """``json.loads`` with the limits above; raises ParseError saying what to change. For bodies
    that do not pass through DRF's parsers (webhook deliveries are verified on the raw bytes)."""
    try:
        data = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        raise ParseError(
            f"JSON parse error - nested more than {MAX_JSON_DEPTH} levels deep; flatten it."
        ) from None
    except ValueError as exc:  # includes UnicodeDecodeError
        raise ParseError(f"JSON parse error - {exc}") from None
    check_json_value(data)
    return data


class SafeJSONParser(JSONParser):
    """DRF's JSONParser with the limits above (REST_FRAMEWORK's DEFAULT_PARSER_CLASSES)."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = get_encoding(parser_context or {})  # DRF's: refuses bytes-to-bytes codecs
        try:
            text = codecs.getreader(encoding)(stream).read()
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        return safe_json_loads(text)
