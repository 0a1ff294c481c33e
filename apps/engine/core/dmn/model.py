"""The parsed form of a DMN file. Immutable; cells are already compiled (see ``feel``/``unary``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .feel import CompiledExpression
from .unary import UnaryTests


class HitPolicy(StrEnum):
    UNIQUE = "UNIQUE"
    FIRST = "FIRST"
    PRIORITY = "PRIORITY"
    ANY = "ANY"
    COLLECT = "COLLECT"
    RULE_ORDER = "RULE ORDER"
    OUTPUT_ORDER = "OUTPUT ORDER"


#: Policies whose result is a list of rule outputs (or, for COLLECT with an aggregator, a number).
LIST_POLICIES = frozenset({HitPolicy.COLLECT, HitPolicy.RULE_ORDER, HitPolicy.OUTPUT_ORDER})


class Aggregation(StrEnum):
    SUM = "SUM"
    MIN = "MIN"
    MAX = "MAX"
    COUNT = "COUNT"


@dataclass(frozen=True)
class InputClause:
    id: str
    label: str
    expression: CompiledExpression
    type_ref: str | None
    allowed: UnaryTests | None  # inputValues

    @property
    def title(self) -> str:
        return self.label or self.expression.source or self.id


@dataclass(frozen=True)
class OutputClause:
    id: str
    name: str
    label: str
    type_ref: str | None
    allowed: UnaryTests | None  # outputValues: also the priority order (PRIORITY, OUTPUT ORDER)
    default: CompiledExpression | None

    @property
    def title(self) -> str:
        return self.label or self.name or self.id


@dataclass(frozen=True)
class Rule:
    id: str
    index: int  # 1-based, as the table shows it
    description: str
    input_entries: tuple[UnaryTests, ...]
    output_entries: tuple[CompiledExpression, ...]


@dataclass(frozen=True)
class DecisionTable:
    hit_policy: HitPolicy
    aggregation: Aggregation | None
    inputs: tuple[InputClause, ...]
    outputs: tuple[OutputClause, ...]
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class LiteralExpression:
    expression: CompiledExpression
    type_ref: str | None


@dataclass(frozen=True)
class Decision:
    id: str
    name: str
    variable_name: str  # the name its result has for decisions that require it
    logic: DecisionTable | LiteralExpression
    required_decisions: tuple[str, ...] = ()
    required_inputs: tuple[str, ...] = ()  # input data ids

    @property
    def kind(self) -> str:
        return "table" if isinstance(self.logic, DecisionTable) else "literal"


@dataclass(frozen=True)
class InputData:
    id: str
    name: str
    type_ref: str | None


@dataclass(frozen=True)
class DmnDefinitions:
    id: str
    name: str
    namespace: str  # the DMN version's namespace the file was written in
    dmn_version: str  # "1.1" ... "1.5"
    decisions: dict[str, Decision] = field(default_factory=dict)
    input_data: dict[str, InputData] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """What a deploy stores as metadata and the API lists."""
        out = []
        for decision in self.decisions.values():
            entry: dict[str, Any] = {
                "id": decision.id,
                "name": decision.name,
                "kind": decision.kind,
                "required_decisions": list(decision.required_decisions),
                "required_inputs": list(decision.required_inputs),
            }
            if isinstance(decision.logic, DecisionTable):
                entry["hit_policy"] = decision.logic.hit_policy.value
                entry["aggregation"] = (
                    decision.logic.aggregation.value if decision.logic.aggregation else None
                )
                entry["rules"] = len(decision.logic.rules)
            out.append(entry)
        return {
            "id": self.id,
            "name": self.name,
            "dmn_version": self.dmn_version,
            "decisions": out,
            "input_data": [{"id": i.id, "name": i.name} for i in self.input_data.values()],
        }
