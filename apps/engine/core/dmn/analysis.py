"""Static checks of a decision table that are warnings, not errors: rules that can both match
under UNIQUE (the evaluation would fail at run time for such inputs), and numbers a numeric
input column leaves to no rule.

Only what is certain is reported: each cell is read as a set of intervals when it is made of
literals (`-`, values, comparisons, intervals, lists of those); a cell with `not(...)`, `?` or
another variable is "unknown" and never produces a warning.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from ..errors import Problem
from .model import DecisionTable, DmnDefinitions, HitPolicy
from .unary import Test, UnaryTests

#: Tables with more rules are not compared pairwise (the check is quadratic).
MAX_RULES_COMPARED = 300
_ANY = "any"


@dataclass(frozen=True)
class _Span:
    low: Any  # None: unbounded
    high: Any
    low_open: bool
    high_open: bool


def _span(test: Test) -> _Span | None:
    """The interval of one positive test with literal endpoints; None if not literal."""
    if test.low is None or test.low.expr is not None:
        return None
    value = test.low.value
    if test.kind == "eq":
        return _Span(value, value, False, False)
    if test.kind == "lt":
        return _Span(None, value, True, True)
    if test.kind == "le":
        return _Span(None, value, True, False)
    if test.kind == "gt":
        return _Span(value, None, True, True)
    if test.kind == "ge":
        return _Span(value, None, False, True)
    if test.kind == "interval" and test.high is not None and test.high.expr is None:
        return _Span(value, test.high.value, test.low_open, test.high_open)
    return None


def _spans(entry: UnaryTests) -> list[_Span] | str | None:
    """``"any"``, the spans of a literal entry, or None when it cannot be known statically."""
    if entry.any:
        return _ANY
    if entry.negated:
        return None
    spans = [_span(t) for t in entry.tests]
    return None if any(s is None for s in spans) else spans  # type: ignore[return-value]


def _kind(value: Any) -> type | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return bool
    if isinstance(value, int | float):
        return float
    if isinstance(value, dt.datetime):
        return dt.datetime
    return type(value)


def _below(a: Any, b: Any, strict: bool) -> bool:
    """a < b (or <=), False when the two cannot be compared."""
    try:
        return bool(a < b) if strict else bool(a <= b)
    except TypeError:
        return False


def _intersect(a: _Span, b: _Span) -> bool:
    kinds = {_kind(v) for v in (a.low, a.high, b.low, b.high)} - {None}
    if len(kinds) > 1:
        return False
    # a starts before b ends, and b starts before a ends
    if a.low is not None and b.high is not None:
        if not _below(a.low, b.high, strict=a.low_open or b.high_open):
            return False
    if b.low is not None and a.high is not None:
        if not _below(b.low, a.high, strict=b.low_open or a.high_open):
            return False
    return True


def _overlap(first: Any, second: Any) -> bool:
    if first is None or second is None:
        return False
    if first == _ANY or second == _ANY:
        return True
    return any(_intersect(a, b) for a in first for b in second)


def table_warnings(decision_id: str, table: DecisionTable) -> list[Problem]:
    if table.hit_policy is not HitPolicy.UNIQUE or len(table.rules) > MAX_RULES_COMPARED:
        return []
    cells = [[_spans(entry) for entry in rule.input_entries] for rule in table.rules]
    warnings = []
    for i, first in enumerate(table.rules):
        for j in range(i + 1, len(table.rules)):
            second = table.rules[j]
            if all(_overlap(a, b) for a, b in zip(cells[i], cells[j], strict=True)):
                warnings.append(
                    Problem(
                        second.id,
                        "unique_overlap_possible",
                        f"Decision '{decision_id}' (UNIQUE): rules {first.index} and "
                        f"{second.index} can match the same inputs; an evaluation that hits both "
                        "fails. Narrow one of them or choose another hit policy (FIRST, PRIORITY).",
                    )
                )
    return warnings


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _bound_text(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _gaps(spans: list[_Span]) -> list[str]:
    """The numbers no span covers, as FEEL-like text (``< 0``, ``10``, ``]5..7[``)."""
    ordered = sorted(spans, key=lambda s: (float("-inf") if s.low is None else s.low, s.low_open))
    gaps: list[str] = []
    first = ordered[0]
    if first.low is not None:
        gaps.append(f"{'<=' if first.low_open else '<'} {_bound_text(first.low)}")
    high, high_open = first.high, first.high_open
    for span in ordered[1:]:
        if high is None:
            return gaps
        if span.low is None or span.low < high:
            pass
        elif span.low == high:
            if high_open and span.low_open:
                gaps.append(_bound_text(high))
        else:
            low_mark = "[" if high_open else "]"
            high_mark = "]" if span.low_open else "["
            gaps.append(f"{low_mark}{_bound_text(high)}..{_bound_text(span.low)}{high_mark}")
        if span.high is None:
            high = None
        elif span.high > high or (span.high == high and not span.high_open):
            high, high_open = span.high, span.high_open
    if high is not None:
        gaps.append(f"{'>=' if high_open else '>'} {_bound_text(high)}")
    return gaps


def coverage_warnings(decision_id: str, table: DecisionTable) -> list[Problem]:
    """Numbers a numeric column leaves to no rule at all: such inputs match nothing (null, or
    the defaults). Judged per column, only when every cell of it is literal numbers or ``-``."""
    if not table.rules or any(o.default for o in table.outputs):
        return []
    warnings = []
    for position, clause in enumerate(table.inputs):
        column = [_spans(rule.input_entries[position]) for rule in table.rules]
        if any(c is None or c == _ANY for c in column):
            continue
        spans: list[_Span] = [span for cell in column for span in cell]  # type: ignore[union-attr,misc]
        bounds = [v for s in spans for v in (s.low, s.high) if v is not None]
        if not spans or not all(_number(v) for v in bounds):
            continue
        gaps = _gaps(spans)
        if gaps:
            warnings.append(
                Problem(
                    clause.id,
                    "input_not_covered",
                    f"Decision '{decision_id}': no rule covers input '{clause.title}' "
                    f"{', '.join(gaps[:5])}; such inputs match no rule (the result is null).",
                )
            )
    return warnings


def definitions_warnings(definitions: DmnDefinitions) -> list[Problem]:
    """Every warning of every decision table in the file."""
    found = []
    for decision in definitions.decisions.values():
        if isinstance(decision.logic, DecisionTable):
            found += table_warnings(decision.id, decision.logic)
            found += coverage_warnings(decision.id, decision.logic)
    return found
