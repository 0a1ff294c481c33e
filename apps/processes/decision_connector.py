"""The ``decision`` connector: what a business rule task runs on the worker path.

Its inputs come from the task (apps/engine/core/business_rules.py): the decision key, a pinned
version or null (the latest deployed when the job runs), the result variable, the result
mapping and a copy of the process variables. It evaluates the decision, writes the
``decision.evaluated`` audit event (decision, version, inputs, matched rules, outputs) and returns
``{result_variable: value}``. The event goes to ``context.audit_events``: the runtime writes it in
the transaction that applies the step, so a step rolled back (lease lost, result not applied)
leaves no evaluation in the trail. Every failure is permanent (evaluating again gives the same answer)
and names the decision, the rule and the cause, so the incident says what to fix; an operator
retries the incident after deploying a fixed decision.
"""

from __future__ import annotations

from typing import Any

from apps.audit.actions import AuditAction
from apps.common.errors import NotFound
from apps.connectors.base import BusinessError, Connector, ConnectorError, ExecutionContext
from apps.engine.core.business_rules import (
    DECISION_CONNECTOR,
    POLICY_DENIED,
    DecisionResultMappingError,
    map_decision_result,
)
from apps.engine.core.dmn import DmnEvaluationError
from apps.processes import decision_selectors
from apps.processes.decisions import audit_data, decision_run


class DecisionConnector(Connector):
    name = DECISION_CONNECTOR
    label = "Decision (DMN)"
    description = "Evaluates a deployed DMN decision; used by business rule tasks."
    internal = True  # business rule tasks only: not offered to service tasks
    config_schema = {  # noqa: RUF012
        "type": "object",
        "properties": {
            "decision": {"type": "string"},
            "version": {"type": ["integer", "null"]},
            "result_variable": {"type": "string"},
            "map_result": {"type": "string"},
            "variables": {"type": "object"},
        },
        "required": ["decision"],
    }

    def execute(self, inputs: dict[str, Any], context: ExecutionContext) -> dict[str, Any]:
        key = str(inputs.get("decision") or "")
        number = inputs.get("version")
        where = f"Business rule task '{context.activity_id}'"
        try:
            version = decision_selectors.version_get(key=key, number=number)
        except NotFound as exc:
            raise ConnectorError(
                f"{where}: {exc.message} Deploy the decision (a .dmn file), then retry.",
                permanent=True,
            ) from None
        variables = inputs.get("variables") or {}
        try:
            evaluation = decision_run(version=version, variables=variables)
            value = map_decision_result(
                str(inputs.get("map_result") or "dmn"),
                result=evaluation.outcome.result,
                rule_outputs=evaluation.outcome.rule_outputs,
            )
        except DmnEvaluationError as exc:
            raise ConnectorError(
                f"{where}: decision '{version.key}' v{version.number} failed: {exc.message}",
                permanent=True,
            ) from None
        except DecisionResultMappingError as exc:
            raise ConnectorError(
                f"{where}: the result of decision '{version.key}' v{version.number} does not fit "
                f"the task's result mapping: {exc.message}",
                permanent=True,
            ) from None
        variable = str(inputs.get("result_variable") or key)
        gate = (
            _gate_verdict(evaluation.outcome.result, where, version) if inputs.get("gate") else None
        )
        # Written by the runtime in the transaction that applies this step (decision 036).
        context.audit_events.append(
            (
                AuditAction.DECISION_EVALUATED,
                audit_data(
                    evaluation,
                    source="business_rule_task",
                    activity_id=context.activity_id,
                    result_variable=variable,
                    stored=value,
                    **({"policy_gate": {"allow": gate[0], "reason": gate[1]}} if gate else {}),
                ),
            )
        )
        if gate is not None and not gate[0]:
            raise BusinessError(POLICY_DENIED, gate[1] or f"Denied by decision '{version.key}'.")
        return {variable: value}


def _gate_verdict(result: Any, where: str, version) -> tuple[bool, str]:
    """(allow, reason) from a policy gate's decision: one rule's ``allow`` (true/false) and
    ``reason``. No matching rule denies (a gate fails closed)."""
    if result is None:
        return False, f"No rule of decision '{version.key}' v{version.number} allows this."
    if not isinstance(result, dict) or not isinstance(result.get("allow"), bool):
        raise ConnectorError(
            f"{where} is a policy gate, but decision '{version.key}' v{version.number} does not "
            "give one result with a true/false 'allow' output (and a 'reason'); use a single-hit "
            "policy (UNIQUE, FIRST, PRIORITY, ANY) with those outputs.",
            permanent=True,
        )
    return result["allow"], str(result.get("reason") or "")
