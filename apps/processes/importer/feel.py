"""FEEL and JUEL conditions: the common subset translated to Flowgate expressions (by the one
FEEL translator, ``engine.core.expressions.from_feel``), the rest named (full FEEL, JUEL method
calls) so the importer can report it."""

from __future__ import annotations

import re

from apps.engine.core.expressions import check
from apps.engine.core.expressions.from_feel import (
    DATE_FUNCTIONS,
    IF_THEN_ELSE,
    FeelUnsupported,
    translate_feel,
)

CONDITION_REFUSES = (IF_THEN_ELSE, DATE_FUNCTIONS)
"""What the importer names as full FEEL although the DMN cells translate it (if/then/else,
``date and time(...)``): an imported condition keeps to comparisons joined by and/or."""
JUEL_METHOD = re.compile(r"[A-Za-z_]\w*\s*\.\s*[A-Za-z_]\w*\s*\(")


def feel_to_expression(source: str) -> tuple[str | None, str | None]:
    """(Flowgate expression, None) for a FEEL expression of the common subset, else
    (None, why not). The leading ``=`` of Camunda 8 is optional."""
    try:
        translated = translate_feel(source, refuse=CONDITION_REFUSES)
    except FeelUnsupported as unsupported:
        return None, f"it uses {unsupported.construct.what}, which is full FEEL"
    problem = check(translated)
    if problem:
        return None, problem
    return translated, None


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
