"""FEEL and JUEL conditions: the common subset translated to Flowgate expressions, the rest
named (full FEEL, JUEL method calls) so the importer can report it."""

from __future__ import annotations

import re

from apps.engine.core.expressions import check, outside_strings

FULL_FEEL = (
    (re.compile(r"\bbetween\b"), "'between'"),
    (re.compile(r"\bsatisfies\b"), "quantified expressions (some/every ... satisfies)"),
    (re.compile(r"\bfor\s+\w+\s+in\b"), "'for' loops"),
    (re.compile(r"\bif\b.*\bthen\b"), "if/then/else"),
    (re.compile(r"\binstance\s+of\b"), "'instance of'"),
    (re.compile(r"\bfunction\s*\("), "function definitions"),
    (re.compile(r"@\""), 'temporal literals (@"...")'),
    (re.compile(r"\b(date|time|date and time|duration)\s*\("), "date and time functions"),
)
FEEL_FUNCTIONS = {
    "list contains": "contains",
    "string length": "len",
    "upper case": "upper",
    "lower case": "lower",
    "starts with": "startswith",
    "ends with": "endswith",
    "count": "len",
}
JUEL_METHOD = re.compile(r"[A-Za-z_]\w*\s*\.\s*[A-Za-z_]\w*\s*\(")


def feel_to_expression(source: str) -> tuple[str | None, str | None]:
    """(Flowgate expression, None) for a FEEL expression of the common subset, else
    (None, why not). The leading ``=`` of Camunda 8 is optional."""
    text = source.strip()
    if text.startswith("="):
        text = text[1:].strip()
    outside = "".join(char if pos >= 0 else "" for pos, char in outside_strings(text))
    for pattern, what in FULL_FEEL:
        if pattern.search(outside):
            return None, f"it uses {what}, which is full FEEL"
    for feel, ours in FEEL_FUNCTIONS.items():
        text = re.sub(rf"\b{feel}\s*\(", f"{ours}(", text)
    # Single "=" is equality in FEEL; "!=", "<=", ">=" stay.
    out = []
    previous = ""
    positions = {pos for pos, _ in outside_strings(text)}
    for position, char in enumerate(text):
        following = text[position + 1] if position + 1 < len(text) else ""
        if position in positions and char == "=" and previous not in "!<>=" and following != "=":
            out.append("==")
        else:
            out.append(char)
        previous = char if position in positions else ""
    translated = "".join(out)
    # FEEL paths a.b.c read context entries: a['b']['c'].
    translated = _replace_outside_strings(
        translated,
        re.compile(r"\b([A-Za-z_]\w*)((?:\.[A-Za-z_]\w*)+)\b(?!\s*\()"),
        lambda m: m.group(1) + "".join(f"['{part}']" for part in m.group(2)[1:].split(".")),
    )
    problem = check(translated)
    if problem:
        return None, problem
    return translated, None


def _replace_outside_strings(text: str, pattern: re.Pattern, repl) -> str:
    positions = {pos for pos, _ in outside_strings(text)}
    out = []
    last = 0
    for match in pattern.finditer(text):
        if match.start() not in positions:
            continue
        out.append(text[last : match.start()])
        out.append(repl(match))
        last = match.end()
    out.append(text[last:])
    return "".join(out)


def wrapped(value: str) -> bool:
    text = value.strip()
    return text.startswith(("${", "#{")) and text.endswith("}")


def feel_value(value: str) -> tuple[str | None, str | None]:
    """A Zeebe attribute value: ``=expr`` -> ``${expr}`` in Flowgate syntax; literals stay."""
    text = value.strip()
    if not text.startswith("="):
        return text, None
    expression, problem = feel_to_expression(text)
    if expression is None:
        return None, problem
    return "${" + expression + "}", None
