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

The language lives in one module per concern:

- ``errors``: :class:`ExpressionError`, and the value descriptions its messages use;
- ``bounds``: the size limits and the per-evaluation work budget;
- ``functions``: the fixed table of pure functions an expression can call;
- ``syntax``: from text to a Python syntax tree (the Camunda wrapper and operators);
- ``compiler``: the whitelist check, :class:`Expression`, ``compile_expression``;
- ``evaluator``: the interpreter that walks a checked tree;
- ``from_feel``: FEEL text translated to this language (DMN cells, Camunda 8 imports).
"""

from __future__ import annotations

from .bounds import (
    MAX_AST_NODES,
    MAX_DEPTH,
    MAX_INT,
    MAX_POWER_EXPONENT,
    MAX_SEQUENCE,
    MAX_SOURCE_LENGTH,
    MAX_WEIGHT,
    MAX_WORK,
)
from .compiler import Expression, check, compile_expression, names_used
from .errors import ExpressionError
from .evaluator import evaluate
from .functions import FUNCTIONS
from .syntax import outside_strings

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
    "outside_strings",
]
