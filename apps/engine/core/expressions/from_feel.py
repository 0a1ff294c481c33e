"""FEEL text translated to the Flowgate expression language: the one translator.

DMN cells (``dmn.feel.compile_feel``) and Camunda 8 conditions, mappings and correlation keys
(``processes.importer.feel``) both come here. The common subset is translated: literals, names
and paths (``a.b`` -> ``a['b']``), arithmetic, comparisons (``=`` -> ``==``), ``and``/``or``/
``not(...)``, lists, one ``if .. then .. else ..`` and FEEL's built-in functions that have a
Flowgate twin (``string length`` -> ``len``, ``date and time`` -> ``datetime`` ...). Constructs
Flowgate never runs (``for``, ``some``/``every``, ``between``, function definitions,
``instance of``, temporal literals) raise :class:`FeelUnsupported`; a caller may refuse more
(``refuse=``) and words the message itself, so each keeps its own. The result is text: the
caller compiles or checks it (``compile_expression`` / ``check``).

Strings are FEEL's ``"..."``; text in ``'...'`` is left alone too, as the Flowgate language
reads it as a string (``outside_strings`` is the one quote-aware scanner).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .syntax import outside_strings


@dataclass(frozen=True)
class Construct:
    """A FEEL construct the translator can refuse: its pattern (searched outside strings) and
    the words a message names it with."""

    pattern: re.Pattern[str]
    what: str


class FeelUnsupported(Exception):
    """The text uses ``construct``; the caller turns this into its own message."""

    def __init__(self, construct: Construct) -> None:
        super().__init__(construct.what)
        self.construct = construct


BETWEEN = Construct(re.compile(r"\bbetween\b"), "'between'")
QUANTIFIED = Construct(
    re.compile(r"\bsatisfies\b"), "quantified expressions (some/every ... satisfies)"
)
FOR_LOOP = Construct(re.compile(r"\bfor\s+\w+\s+in\b"), "'for' loops")
INSTANCE_OF = Construct(re.compile(r"\binstance\s+of\b"), "'instance of'")
FUNCTION_DEFINITION = Construct(re.compile(r"\bfunction\s*\("), "function definitions")
TEMPORAL_LITERAL = Construct(re.compile(r'@\s*"'), 'temporal literals (@"...")')
NEVER_RUN = (BETWEEN, QUANTIFIED, FOR_LOOP, INSTANCE_OF, FUNCTION_DEFINITION)
"""Refused whoever asks, in this order, then the caller's ``refuse``, then TEMPORAL_LITERAL."""

# Constructs that one caller refuses and the translator otherwise handles or passes on:
IF_THEN_ELSE = Construct(re.compile(r"\bif\b.*\bthen\b", re.S), "if/then/else")
DATE_FUNCTIONS = Construct(
    re.compile(r"\b(date|time|date and time|duration)\s*\("), "date and time functions"
)
DURATION_FUNCTION = Construct(re.compile(r"\bduration\s*\("), "durations outside input entries")

FUNCTIONS = (
    (re.compile(r"\blist\s+contains\s*\("), "contains("),
    (re.compile(r"\bstring\s+length\s*\("), "len("),
    (re.compile(r"\bupper\s+case\s*\("), "upper("),
    (re.compile(r"\blower\s+case\s*\("), "lower("),
    (re.compile(r"\bstarts\s+with\s*\("), "startswith("),
    (re.compile(r"\bends\s+with\s*\("), "endswith("),
    (re.compile(r"\bdate\s+and\s+time\s*\("), "datetime("),
    (re.compile(r"\bcount\s*\("), "len("),
)
"""FEEL built-ins with a Flowgate twin (``expressions.functions``)."""

_IF = re.compile(r"^\s*if\s+(?P<test>.+?)\s+then\s+(?P<then>.+?)\s+else\s+(?P<else>.+)$", re.S)
_PATH = re.compile(r"(?<![\w'\".\]])([A-Za-z_]\w*)((?:\.[A-Za-z_]\w*)+)\b(?!\s*\()")


def masked(text: str) -> str:
    """The text with string literals (quotes included) blanked: positions are kept, and
    pattern checks do not see inside strings."""
    keep = dict(outside_strings(text))
    return "".join(keep.get(i, " ") for i in range(len(text)))


def _sub_outside(
    pattern: re.Pattern[str], repl: str | Callable[[re.Match[str]], str], text: str
) -> str:
    """``pattern.sub`` on the parts of ``text`` outside string literals."""
    out, last = [], 0
    for match in pattern.finditer(masked(text)):
        out.append(text[last : match.start()])
        if callable(repl):
            original = pattern.fullmatch(text[match.start() : match.end()])
            out.append(repl(original) if original else text[match.start() : match.end()])
        else:
            out.append(repl)
        last = match.end()
    out.append(text[last:])
    return "".join(out)


def _equality(text: str) -> str:
    """FEEL's single ``=`` is equality: ``==``; ``!=``, ``<=``, ``>=`` stay."""
    out, previous = [], ""
    positions = {pos for pos, _ in outside_strings(text)}
    for position, char in enumerate(text):
        following = text[position + 1] if position + 1 < len(text) else ""
        if position in positions and char == "=" and previous not in "!<>=" and following != "=":
            out.append("==")
        else:
            out.append(char)
        previous = char if position in positions else ""
    return "".join(out)


def _path(match: re.Match[str]) -> str:
    """``a.b.c`` reads context entries: ``a['b']['c']``."""
    return match.group(1) + "".join(f"['{part}']" for part in match.group(2)[1:].split("."))


def translate_feel(source: str, *, refuse: tuple[Construct, ...] = ()) -> str:
    """FEEL text (Camunda 8's leading ``=`` optional) -> Flowgate expression text. Raises
    FeelUnsupported for a construct of NEVER_RUN, ``refuse`` or TEMPORAL_LITERAL."""
    text = source.strip()
    if text.startswith("="):
        text = text[1:].strip()
    blanked = masked(text)
    for construct in (*NEVER_RUN, *refuse):
        if construct.pattern.search(blanked):
            raise FeelUnsupported(construct)
    if _has_temporal_literal(text):
        raise FeelUnsupported(TEMPORAL_LITERAL)
    match = _IF.match(text)
    if match and not _IF.match(match.group("then")):
        return (
            f"({translate_feel(match.group('then'), refuse=refuse)}) "
            f"if ({translate_feel(match.group('test'), refuse=refuse)}) "
            f"else ({translate_feel(match.group('else'), refuse=refuse)})"
        )
    for pattern, ours in FUNCTIONS:
        text = _sub_outside(pattern, ours, text)
    return _sub_outside(_PATH, _path, _equality(text))


def _has_temporal_literal(text: str) -> bool:
    """An ``@`` outside strings followed by a literal: ``@"2024-01-01"``."""
    outside = {pos for pos, _ in outside_strings(text)}
    return any(match.start() in outside for match in TEMPORAL_LITERAL.pattern.finditer(text))
