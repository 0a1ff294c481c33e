"""From text to a Python syntax tree: the Camunda wrapper and operators, syntax messages, depth."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from .bounds import MAX_DEPTH, MAX_SOURCE_LENGTH
from .errors import Fail


def _strip_wrapper(source: str) -> tuple[str, bool]:
    text = source.strip()
    if len(text) >= 3 and text[0] in "$#" and text[1] == "{" and text[-1] == "}":
        return text[2:-1], True
    return text, False


def _translate_camunda(text: str) -> str:
    """Rewrite ``&&``, ``||`` and ``!x`` (not ``!=``) outside string literals."""
    replacements: dict[int, tuple[int, str]] = {}  # position -> (characters replaced, new text)
    skip_until = -1
    for position, char in outside_strings(text):
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


def _syntax_message(error: SyntaxError, text: str) -> str:
    detail = error.msg or "invalid syntax"
    where = f" at column {error.offset}" if error.offset else ""
    hint = ""
    outside = "".join(char for _, char in outside_strings(text))
    if "&&" in outside or "||" in outside:
        hint = "; use 'and'/'or' (or wrap Camunda syntax in ${...})"
    elif outside.replace("!=", "").count("!"):
        hint = "; use 'not' instead of '!' (or wrap Camunda syntax in ${...})"
    return f"invalid expression: {detail}{where}{hint}"


def parse(source: str) -> tuple[str, ast.expr]:
    if not isinstance(source, str):
        raise Fail(f"an expression must be text, not {type(source).__name__}")
    if len(source) > MAX_SOURCE_LENGTH:
        raise Fail(
            f"expression is too long ({len(source):,} characters; the limit is "
            f"{MAX_SOURCE_LENGTH:,})"
        )
    text, wrapped = _strip_wrapper(source)
    if wrapped:
        text = _translate_camunda(text)
    if not text.strip():
        raise Fail("expression is empty")
    _check_bracket_depth(text)
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        raise Fail(_syntax_message(error, text)) from None
    except (ValueError, TypeError, Warning):
        # ValueError: NUL bytes; Warning: only when warnings are configured as errors.
        raise Fail("invalid expression: it contains characters that are not allowed") from None
    except (RecursionError, MemoryError, OverflowError):
        raise Fail("expression is too deeply nested or too complex") from None
    return text, tree.body


def outside_strings(text: str, quotes: str = "'\"") -> Iterator[tuple[int, str]]:
    """(position, character) for every character outside '...' and "..." literals (a backslash
    escapes the next character inside one); ``quotes='"'`` for FEEL's unary tests, which have
    only "...". The one quote-aware scanner: the FEEL translator and DMN use it too."""
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
        elif char in quotes:
            quote = char
        else:
            yield position, char


def _check_bracket_depth(text: str) -> None:
    """Reject absurd bracket nesting before the parser recurses into it."""
    depth = 0
    for _, char in outside_strings(text):
        if char in "([{":
            depth += 1
            if depth > MAX_DEPTH:
                raise Fail(f"expression is nested too deeply (the limit is {MAX_DEPTH} levels)")
        elif char in ")]}":
            depth -= 1
