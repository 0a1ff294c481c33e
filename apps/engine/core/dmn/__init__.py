"""DMN decisions: parse DMN 1.1-1.5 files and evaluate their decisions, with an explanation.

Pure Python (no Django). FEEL is *translated*: unary tests become small matchers, FEEL
expressions become Flowgate expressions run by the whitelist evaluator
(``apps.engine.core.expressions``); nothing is handed to ``eval``.

- ``model``: the parsed definitions (decisions, tables, rules, literal expressions, input data);
- ``feel``: FEEL expressions compiled to run (translated by ``expressions.from_feel``, the one
  FEEL translator, shared with the Camunda 8 importer), FEEL values (dates, durations);
- ``unary``: FEEL simple unary tests (``< 10``, ``[1..5]``, ``"a","b"``, ``not(...)``, ``-``);
- ``parser``: DMN XML (namespace detected by content) -> model, with every problem named;
- ``engine``: evaluation, hit policies, decision requirements and the explanation.
"""

from __future__ import annotations

from .engine import DecisionResult, evaluate_decision
from .errors import DmnEvaluationError, DmnValidationError
from .model import Decision, DmnDefinitions
from .parser import DMN_NAMESPACES, is_dmn, parse_dmn

__all__ = [
    "DMN_NAMESPACES",
    "Decision",
    "DecisionResult",
    "DmnDefinitions",
    "DmnEvaluationError",
    "DmnValidationError",
    "evaluate_decision",
    "is_dmn",
    "parse_dmn",
]
