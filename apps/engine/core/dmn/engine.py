"""Evaluating a decision: inputs, rules, hit policies, required decisions, and the explanation.

The result has DMN's shape: one output -> its value, several -> an object by output name;
COLLECT / RULE ORDER / OUTPUT ORDER -> a list of those; COLLECT with an aggregator -> a number
(COUNT: how many rules matched; SUM/MIN/MAX over the non-null outputs). When no rule matches,
whatever the policy: the outputs' default entries if the table has them, else null (as Camunda
8's engine, dmn-scala, answers).

Every evaluation returns an explanation (JSON-ready): the decision, the inputs it saw, the rules
that matched with their outputs, the result, and the same for every required decision. That is
what the audit trail stores, so "why did this request go to the CFO" has an answer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..expressions import ExpressionError
from .errors import DmnEvaluationError
from .feel import CompiledExpression, YearsMonths, parse_date, parse_datetime
from .model import (
    Aggregation,
    Decision,
    DecisionTable,
    DmnDefinitions,
    HitPolicy,
    OutputClause,
    Rule,
)

_NUMBER_TYPES = {"number", "double", "decimal", "float"}
_INTEGER_TYPES = {"integer", "long", "int"}
_DATE_TYPES = {"date"}
_DATETIME_TYPES = {"datetime", "dateTime", "date and time"}


@dataclass
class DecisionResult:
    decision_id: str
    result: Any
    #: Each matched rule's outputs by output name (Camunda's "result list"), for result mappings.
    rule_outputs: list[dict[str, Any]] = field(default_factory=list)
    explanation: dict[str, Any] = field(default_factory=dict)

    @property
    def matched_rules(self) -> list[dict[str, Any]]:
        return list(self.explanation.get("matched_rules", []))


def to_json(value: Any) -> Any:
    """A result or input as JSON: dates as ISO text, durations as ISO-8601 durations."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return _duration_text(value)
    if isinstance(value, YearsMonths):
        sign = "-" if value.months < 0 else ""
        years, months = divmod(abs(value.months), 12)
        return f"{sign}P{years}Y{months}M"
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_json(v) for v in value]
    return value


def _duration_text(delta: dt.timedelta) -> str:
    sign = "-" if delta < dt.timedelta(0) else ""
    delta = abs(delta)
    hours, rest = divmod(delta.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    time = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (seconds, "S")) if n)
    return (
        f"{sign}P{delta.days}D" + (f"T{time}" if time else "")
        if delta.days or not time
        else (f"{sign}PT{time}")
    )


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def _typed(
    value: Any,
    type_ref: str | None,
    what: str,
    decision_id: str,
    input_id: str | None,
    code: str = "input_type",
) -> Any:
    """Check (and, for dates, read) a value against its typeRef; raise ``code`` if wrong."""
    if value is None or not type_ref:
        return value
    kind = type_ref.strip()
    expected = None
    if kind in _NUMBER_TYPES:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        expected = "a number"
    elif kind in _INTEGER_TYPES:
        ok = not isinstance(value, bool) and (
            isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        )
        expected = "a whole number"
    elif kind == "string":
        ok, expected = isinstance(value, str), "text"
    elif kind == "boolean":
        ok, expected = isinstance(value, bool), "true or false"
    elif kind in _DATE_TYPES:
        parsed = parse_date(value)
        ok, expected = parsed is not None, "a date (YYYY-MM-DD)"
        value = parsed if ok else value
    elif kind in _DATETIME_TYPES:
        parsed = parse_datetime(value)
        ok, expected = parsed is not None, "a date and time (ISO 8601)"
        value = parsed if ok else value
    else:
        ok = True
    if not ok:
        shown = repr(value)[:60] if isinstance(value, str | int | float) else ""
        raise DmnEvaluationError(
            f"Decision '{decision_id}': {what} must be {expected}, not {_kind(value)} {shown}".strip(),
            code=code,
            decision_id=decision_id,
            input_id=input_id,
        )
    return value


class _Run:
    """One evaluation: required decisions are evaluated once and shared."""

    def __init__(self, definitions: DmnDefinitions, variables: Mapping[str, Any]) -> None:
        self.definitions = definitions
        self.variables = dict(variables)
        self.done: dict[str, DecisionResult] = {}

    def evaluate(self, decision_id: str) -> DecisionResult:
        if decision_id in self.done:
            return self.done[decision_id]
        decision = self.definitions.decisions.get(decision_id)
        if decision is None:
            raise DmnEvaluationError(
                f"Decision '{decision_id}' is not in this file.",
                code="unknown_decision",
                decision_id=decision_id,
            )
        scope = dict(self.variables)
        required = []
        for required_id in decision.required_decisions:
            sub = self.evaluate(required_id)
            required.append(sub.explanation)
            self._expose(scope, self.definitions.decisions[required_id], sub)
        seen_data = {}
        for data_id in decision.required_inputs:
            data = self.definitions.input_data[data_id]
            value = _typed(
                scope.get(data.name),
                data.type_ref,
                f"input data '{data.name}'",
                decision.id,
                data_id,
            )
            scope[data.name] = value
            seen_data[data.name] = to_json(value)
        if isinstance(decision.logic, DecisionTable):
            result = self.table(decision, decision.logic, scope)
        else:
            value = self.expression(
                decision, decision.logic.expression, scope, "literal expression"
            )
            value = _typed(
                value, decision.logic.type_ref, "the result", decision.id, None, "result_type"
            )
            result = DecisionResult(decision.id, to_json(value), [{decision.variable_name: value}])
            result.explanation = {"expression": decision.logic.expression.source}
        result.explanation = {
            "decision_id": decision.id,
            "decision_name": decision.name,
            "kind": decision.kind,
            **result.explanation,
            "result": result.result,
            **({"input_data": seen_data} if seen_data else {}),
            **({"required": required} if required else {}),
        }
        self.done[decision_id] = result
        return result

    @staticmethod
    def _expose(scope: dict[str, Any], decision: Decision, sub: DecisionResult) -> None:
        """A required decision's result is visible under its variable name; a single result's
        outputs also under their own names (as Camunda does)."""
        scope[decision.variable_name] = sub.result
        if len(sub.rule_outputs) == 1:
            for name, value in sub.rule_outputs[0].items():
                if name:
                    scope.setdefault(name, value)

    def expression(
        self,
        decision: Decision,
        expression: CompiledExpression,
        scope: Mapping[str, Any],
        where: str,
        rule: Rule | None = None,
    ) -> Any:
        try:
            return expression.evaluate(scope)
        except ExpressionError as error:
            rule_part = f", rule {rule.index}" if rule else ""
            raise DmnEvaluationError(
                f"Decision '{decision.id}'{rule_part}, {where} '{expression.source}': "
                f"{error.message}",
                code="bad_expression",
                decision_id=decision.id,
                rule_ids=(rule.id,) if rule else (),
            ) from None

    def table(
        self, decision: Decision, table: DecisionTable, scope: Mapping[str, Any]
    ) -> DecisionResult:
        values, seen = [], []
        for clause in table.inputs:
            what = f"input '{clause.title}'"
            value = self.expression(decision, clause.expression, scope, what)
            value = _typed(value, clause.type_ref, what, decision.id, clause.id)
            if (
                clause.allowed is not None
                and value is not None
                and not clause.allowed.matches(value, scope)
            ):
                raise DmnEvaluationError(
                    f"Decision '{decision.id}': {what} is {to_json(value)!r}, which is not one of "
                    f"its allowed values ({clause.allowed.source}).",
                    code="input_not_allowed",
                    decision_id=decision.id,
                    input_id=clause.id,
                )
            values.append(value)
            seen.append(
                {
                    "id": clause.id,
                    "label": clause.title,
                    "expression": clause.expression.source,
                    "value": to_json(value),
                }
            )
        matched: list[tuple[Rule, dict[str, Any]]] = []
        for rule in table.rules:
            if self._rule_matches(decision, rule, values, scope):
                matched.append((rule, self._outputs(decision, table, rule, scope)))
        result, chosen = self._apply_policy(decision, table, matched, scope)
        explanation = {
            "hit_policy": table.hit_policy.value,
            "aggregation": table.aggregation.value if table.aggregation else None,
            "inputs": seen,
            "matched_rules": [
                {
                    "id": rule.id,
                    "index": rule.index,
                    "description": rule.description,
                    "outputs": to_json(outputs),
                }
                for rule, outputs in chosen
            ],
        }
        return DecisionResult(
            decision.id, to_json(result), [to_json(o) for _, o in chosen], explanation
        )

    def _rule_matches(self, decision: Decision, rule: Rule, values: list[Any], scope) -> bool:
        try:
            for entry, value in zip(rule.input_entries, values, strict=True):
                if not entry.matches(value, scope):
                    return False
        except ExpressionError as error:
            raise DmnEvaluationError(
                f"Decision '{decision.id}', rule {rule.index}: an input entry cannot be "
                f"evaluated: {error.message}",
                code="bad_expression",
                decision_id=decision.id,
                rule_ids=(rule.id,),
            ) from None
        return True

    def _outputs(self, decision: Decision, table: DecisionTable, rule: Rule, scope) -> dict:
        outputs = {}
        for clause, entry in zip(table.outputs, rule.output_entries, strict=True):
            value = self.expression(decision, entry, scope, f"output '{clause.title}'", rule)
            if (
                clause.allowed is not None
                and value is not None
                and not clause.allowed.matches(value, scope)
            ):
                raise DmnEvaluationError(
                    f"Decision '{decision.id}', rule {rule.index}: output '{clause.title}' is "
                    f"{to_json(value)!r}, which is not one of its allowed values "
                    f"({clause.allowed.source}).",
                    code="output_not_allowed",
                    decision_id=decision.id,
                    rule_ids=(rule.id,),
                )
            outputs[clause.name] = value
        return outputs

    @staticmethod
    def _shape(outputs: dict[str, Any]) -> Any:
        return next(iter(outputs.values())) if len(outputs) == 1 else dict(outputs)

    def _priority(self, table: DecisionTable, outputs: dict[str, Any], scope) -> tuple[int, ...]:
        key = []
        for clause in table.outputs:
            if clause.allowed is None:
                continue
            key.append(_rank(clause, outputs.get(clause.name), scope))
        return tuple(key)

    def _apply_policy(self, decision, table: DecisionTable, matched, scope):
        policy = table.hit_policy
        if not matched:  # every policy (as Camunda 8's engine): the defaults, else null
            defaults = {
                c.name: (
                    self.expression(decision, c.default, scope, f"default of '{c.title}'")
                    if c.default
                    else None
                )
                for c in table.outputs
            }
            if any(c.default for c in table.outputs):
                return self._shape(defaults), []
            return None, []
        if policy is HitPolicy.UNIQUE and len(matched) > 1:
            raise DmnEvaluationError(
                f"Decision '{decision.id}' has hit policy UNIQUE but rules "
                f"{', '.join(str(r.index) for r, _ in matched)} "
                f"({', '.join(r.id for r, _ in matched)}) all match.",
                code="unique_overlap",
                decision_id=decision.id,
                rule_ids=tuple(r.id for r, _ in matched),
            )
        if policy is HitPolicy.ANY:
            first = matched[0][1]
            differing = [r for r, o in matched if o != first]
            if differing:
                raise DmnEvaluationError(
                    f"Decision '{decision.id}' has hit policy ANY but matching rules "
                    f"{', '.join(str(r.index) for r, _ in matched)} give different outputs.",
                    code="any_conflict",
                    decision_id=decision.id,
                    rule_ids=tuple(r.id for r, _ in matched),
                )
        if policy in (HitPolicy.UNIQUE, HitPolicy.FIRST, HitPolicy.ANY):
            return self._shape(matched[0][1]), matched[:1]
        if policy is HitPolicy.PRIORITY:
            best = min(matched, key=lambda pair: self._priority(table, pair[1], scope))
            return self._shape(best[1]), [best]
        if policy is HitPolicy.OUTPUT_ORDER:
            matched = sorted(matched, key=lambda pair: self._priority(table, pair[1], scope))
        if policy is HitPolicy.COLLECT and table.aggregation is not None:
            return _aggregate(decision, table.aggregation, matched), matched
        return [self._shape(o) for _, o in matched], matched


def _rank(clause: OutputClause, value: Any, scope) -> int:
    assert clause.allowed is not None  # noqa: S101 - only called for ranked outputs
    for position, test in enumerate(clause.allowed.tests):
        if test.matches(value, scope):
            return position
    return len(clause.allowed.tests)


def _aggregate(decision: Decision, aggregation: Aggregation, matched) -> Any:
    if aggregation is Aggregation.COUNT:
        return len(matched)  # the matched rules (Camunda 8 counts them, nulls included)
    values = [next(iter(o.values())) for _, o in matched]
    values = [v for v in values if v is not None]
    if not values:
        return None
    if aggregation is Aggregation.SUM and not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in values
    ):
        raise DmnEvaluationError(
            f"Decision '{decision.id}': COLLECT SUM needs numbers, the matching rules gave "
            f"{to_json(values)!r}.",
            code="aggregation_type",
            decision_id=decision.id,
            rule_ids=tuple(r.id for r, _ in matched),
        )
    try:
        if aggregation is Aggregation.SUM:
            return sum(values)
        return min(values) if aggregation is Aggregation.MIN else max(values)
    except TypeError:
        raise DmnEvaluationError(
            f"Decision '{decision.id}': COLLECT {aggregation.value} cannot compare "
            f"{to_json(values)!r}.",
            code="aggregation_type",
            decision_id=decision.id,
            rule_ids=tuple(r.id for r, _ in matched),
        ) from None


def evaluate_decision(
    definitions: DmnDefinitions, decision_id: str, variables: Mapping[str, Any]
) -> DecisionResult:
    """Evaluate ``decision_id`` (and the decisions it requires) against ``variables``.

    Raises DmnEvaluationError (never anything else for bad input or a bad cell)."""
    return _Run(definitions, variables).evaluate(decision_id)
