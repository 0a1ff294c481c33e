"""Business rule tasks: which decision a ``bpmn:businessRuleTask`` runs, and how its result is
mapped to a process variable.

Read from, in order: Flowgate's attributes (``flowgate:decisionRef``, ``flowgate:decisionVersion``,
``flowgate:resultVariable``, ``flowgate:mapDecisionResult``), Camunda 7's
(``camunda:decisionRef``, ``camunda:decisionRefBinding`` = latest | version with
``camunda:decisionRefVersion``, ``camunda:resultVariable``, ``camunda:mapDecisionResult``) and
Camunda 8's ``<zeebe:calledDecision decisionId=".." resultVariable=".."/>``.

The task runs as a job of the built-in ``decision`` connector (the worker path, with retries
and incidents like any automated step); its inputs carry the reference and a copy of the
process variables.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

FLOWGATE_NS = "http://flowgate.dev/schema/bpmn/1.0"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"

#: The connector that evaluates decisions for business rule tasks.
DECISION_CONNECTOR = "decision"
#: The BPMN error code a denying policy gate throws (an error boundary may catch it).
POLICY_DENIED = "policy_denied"
#: mapDecisionResult values (Camunda 7); "dmn" (Flowgate's and Camunda 8's default) keeps DMN's
#: own result shape: one output -> value, several -> object, list policies -> list.
MAP_MODES = ("dmn", "singleEntry", "singleResult", "collectEntries", "resultList")


class DecisionResultMappingError(Exception):
    """The result does not fit the task's mapDecisionResult (e.g. singleEntry of two rules)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class DecisionRef:
    key: str
    version: int | None  # None: the latest version deployed when the task runs
    result_variable: str
    map_result: str
    problem: str | None = None  # set when the reference is unusable (the lint reports it)
    #: A policy gate (``flowgate:policyGate="true"``): the decision yields ``allow`` and
    #: ``reason``; a deny throws the BPMN error ``policy_denied`` with the reason.
    gate: bool = False


def _attr(node: Any, ns: str, name: str) -> str | None:
    value = node.get(f"{{{ns}}}{name}")
    return value.strip() if isinstance(value, str) else None


def decision_ref(node: Any) -> DecisionRef | None:
    """The decision a businessRuleTask element runs; None when it names none."""
    zeebe = node.find(f"{{{BPMN_NS}}}extensionElements/{{{ZEEBE_NS}}}calledDecision")
    key = _attr(node, FLOWGATE_NS, "decisionRef") or _attr(node, CAMUNDA_NS, "decisionRef")
    result_variable = _attr(node, FLOWGATE_NS, "resultVariable") or _attr(
        node, CAMUNDA_NS, "resultVariable"
    )
    mode = _attr(node, FLOWGATE_NS, "mapDecisionResult")
    if not key and zeebe is not None:
        key = (zeebe.get("decisionId") or "").strip()
        result_variable = result_variable or (zeebe.get("resultVariable") or "").strip()
    if not key:
        return None
    if mode is None and _attr(node, CAMUNDA_NS, "decisionRef"):
        # Camunda 7's default is a list of every matched rule's outputs.
        mode = _attr(node, CAMUNDA_NS, "mapDecisionResult") or "resultList"
    mode = mode or "dmn"
    problem = None
    if key.startswith(("=", "${", "#{")):
        problem = f"The decision reference '{key}' is an expression; name the decision's id."
    if mode not in MAP_MODES:
        problem = f"mapDecisionResult '{mode}' is unknown; use one of {', '.join(MAP_MODES)}."
    version: int | None = None
    pinned = _attr(node, FLOWGATE_NS, "decisionVersion")
    binding = _attr(node, CAMUNDA_NS, "decisionRefBinding") or "latest"
    if pinned is None and binding == "version":
        pinned = _attr(node, CAMUNDA_NS, "decisionRefVersion") or ""
    elif pinned is None and binding not in ("latest", "deployment"):
        problem = f"decisionRefBinding '{binding}' is not supported: use latest or version."
    if pinned is not None:
        if pinned.isdigit() and int(pinned) >= 1:
            version = int(pinned)
        else:
            problem = f"The decision version must be a version number (1, 2, ...), not '{pinned}'."
    variable = result_variable or key
    if not variable.isidentifier():
        problem = f"The result variable '{variable}' is not a valid variable name."
    gate = (_attr(node, FLOWGATE_NS, "policyGate") or "").lower() == "true"
    return DecisionRef(key, version, variable, mode, problem, gate)


def map_decision_result(mode: str, *, result: Any, rule_outputs: list[dict[str, Any]]) -> Any:
    """The value stored in the result variable (Camunda 7's mapDecisionResult semantics)."""
    if mode == "dmn":
        return result
    if mode == "resultList":
        return rule_outputs
    if mode == "collectEntries":
        values: list[Any] = []
        for outputs in rule_outputs:
            if len(outputs) > 1:
                raise DecisionResultMappingError(
                    "collectEntries needs a decision with one output; a rule gave "
                    f"{', '.join(outputs)}."
                )
            values.extend(outputs.values())
        return values
    if len(rule_outputs) > 1:
        raise DecisionResultMappingError(
            f"{mode} needs at most one matched rule; {len(rule_outputs)} matched."
        )
    if not rule_outputs:
        return None
    if mode == "singleResult":
        return rule_outputs[0]
    outputs = rule_outputs[0]
    if len(outputs) > 1:
        raise DecisionResultMappingError(
            f"singleEntry needs one output; the rule gave {', '.join(outputs)}."
        )
    return next(iter(outputs.values()), None)
