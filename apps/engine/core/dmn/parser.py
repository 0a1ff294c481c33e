"""DMN XML -> ``DmnDefinitions``, with every problem named on its element.

The DMN version is read from the root element's namespace (1.1 to 1.5; ``http``/``https`` and a
trailing slash are not significant), so a file from Camunda Modeler 5 (DMN 1.3), Camunda 7's
older modeler (DMN 1.1) or another tool parses the same way. The XML goes through the engine's
hardened parser (no DTD, no entities, no network, size and depth caps).
"""

from __future__ import annotations

from typing import Any

from ..errors import Problem
from ..xml import parse_xml
from .errors import DmnValidationError
from .feel import CompiledExpression, FeelError, compile_feel
from .model import (
    Aggregation,
    Decision,
    DecisionTable,
    DmnDefinitions,
    HitPolicy,
    InputClause,
    InputData,
    LiteralExpression,
    OutputClause,
    Rule,
)
from .unary import UnaryTests, compile_unary_tests

DMN_NAMESPACES = {
    "www.omg.org/spec/DMN/20151101/dmn.xsd": "1.1",
    "www.omg.org/spec/DMN/20180521/MODEL": "1.2",
    "www.omg.org/spec/DMN/20191111/MODEL": "1.3",
    "www.omg.org/spec/DMN/20211108/MODEL": "1.4",
    "www.omg.org/spec/DMN/20230324/MODEL": "1.5",
}
CAMUNDA_DMN_NS = "http://camunda.org/schema/1.0/dmn"
MAX_DECISIONS = 200
MAX_RULES = 5000
MAX_CLAUSES = 50
_HIT_POLICY_ALIASES = {"RULE_ORDER": "RULE ORDER", "OUTPUT_ORDER": "OUTPUT ORDER"}


def _namespace_of(tag: Any) -> str:
    return tag[1:].split("}", 1)[0] if isinstance(tag, str) and tag.startswith("{") else ""


def dmn_version_of(namespace: str) -> str | None:
    key = namespace.split("://", 1)[-1].rstrip("/")
    return DMN_NAMESPACES.get(key)


def is_dmn(root: Any) -> bool:
    """True when a parsed root element is a DMN ``definitions`` (detected by content)."""
    tag = root.tag if isinstance(root.tag, str) else ""
    return tag.endswith("}definitions") and dmn_version_of(_namespace_of(tag)) is not None


class _Reader:
    def __init__(self, root: Any) -> None:
        self.root = root
        self.ns = _namespace_of(root.tag)
        self.problems: list[Problem] = []

    def q(self, name: str) -> str:
        return f"{{{self.ns}}}{name}"

    def children(self, node: Any, name: str) -> list[Any]:
        return node.findall(self.q(name))

    def text_of(self, node: Any, child: str = "text") -> str:
        if node is None:
            return ""
        found = node.find(self.q(child))
        return (found.text or "").strip() if found is not None else ""

    def problem(self, element_id: str | None, code: str, message: str) -> None:
        self.problems.append(Problem(element_id, code, message))

    # -- cells ----------------------------------------------------------------------------

    def feel(self, text: str, where: str, element_id: str | None) -> CompiledExpression:
        try:
            return compile_feel(text)
        except FeelError as error:
            self.problem(
                element_id, "bad_feel", f"{where}: '{text[:120]}' cannot be read: {error.message}"
            )
            return CompiledExpression(source=text)

    def unary(
        self, text: str, where: str, element_id: str | None, input_variable: str | None = None
    ) -> UnaryTests:
        try:
            return compile_unary_tests(text, input_variable)
        except FeelError as error:
            self.problem(
                element_id, "bad_feel", f"{where}: '{text[:120]}' cannot be read: {error.message}"
            )
            return UnaryTests(source=text, any=True)

    # -- elements -------------------------------------------------------------------------

    def href_id(self, node: Any) -> str:
        return (node.get("href") or "").strip().lstrip("#") if node is not None else ""

    def requirements(self, decision: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
        decisions, inputs = [], []
        for requirement in self.children(decision, "informationRequirement"):
            for ref in self.children(requirement, "requiredDecision"):
                decisions.append(self.href_id(ref))
            for ref in self.children(requirement, "requiredInput"):
                inputs.append(self.href_id(ref))
        return tuple(d for d in decisions if d), tuple(i for i in inputs if i)

    def table(self, decision_id: str, node: Any) -> DecisionTable | None:
        raw_policy = (node.get("hitPolicy") or "UNIQUE").strip().upper()
        raw_policy = _HIT_POLICY_ALIASES.get(raw_policy, raw_policy)
        try:
            policy = HitPolicy(raw_policy)
        except ValueError:
            self.problem(
                decision_id,
                "bad_hit_policy",
                f"Hit policy '{raw_policy}' is unknown; "
                "use UNIQUE, FIRST, PRIORITY, ANY, COLLECT, RULE ORDER or OUTPUT ORDER.",
            )
            return None
        aggregation = None
        raw_aggregation = (node.get("aggregation") or "").strip().upper()
        if raw_aggregation:
            try:
                aggregation = Aggregation(raw_aggregation)
            except ValueError:
                self.problem(
                    decision_id,
                    "bad_aggregation",
                    f"Aggregation '{raw_aggregation}' is unknown; use SUM, MIN, MAX or COUNT.",
                )
            if policy is not HitPolicy.COLLECT:
                self.problem(
                    decision_id,
                    "bad_aggregation",
                    f"An aggregation only applies to COLLECT, not {policy.value}.",
                )
        inputs = []
        input_variables = []  # Camunda 7: the name input entries use for the input value
        for position, clause in enumerate(self.children(node, "input"), start=1):
            clause_id = clause.get("id") or f"{decision_id}_input{position}"
            input_variables.append(
                (clause.get(f"{{{CAMUNDA_DMN_NS}}}inputVariable") or "cellInput").strip()
            )
            expression_node = clause.find(self.q("inputExpression"))
            label = (clause.get("label") or "").strip()
            where = f"Decision '{decision_id}', input {position} ({label or clause_id})"
            source = self.text_of(expression_node)
            if not source:
                self.problem(
                    clause_id, "missing_input_expression", f"{where} has no input expression."
                )
            allowed_text = self.text_of(clause.find(self.q("inputValues")))
            inputs.append(
                InputClause(
                    id=clause_id,
                    label=label,
                    expression=self.feel(source, where, clause_id),
                    type_ref=(
                        expression_node.get("typeRef") if expression_node is not None else None
                    ),
                    allowed=self.unary(allowed_text, f"{where}, allowed values", clause_id)
                    if allowed_text
                    else None,
                )
            )
        outputs = []
        for position, clause in enumerate(self.children(node, "output"), start=1):
            clause_id = clause.get("id") or f"{decision_id}_output{position}"
            name = (clause.get("name") or "").strip()
            label = (clause.get("label") or "").strip()
            where = f"Decision '{decision_id}', output {position} ({label or name or clause_id})"
            allowed_text = self.text_of(clause.find(self.q("outputValues")))
            default_text = self.text_of(clause.find(self.q("defaultOutputEntry")))
            outputs.append(
                OutputClause(
                    id=clause_id,
                    name=name,
                    label=label,
                    type_ref=clause.get("typeRef"),
                    allowed=self.unary(allowed_text, f"{where}, allowed values", clause_id)
                    if allowed_text
                    else None,
                    default=self.feel(default_text, f"{where}, default", clause_id)
                    if default_text
                    else None,
                )
            )
        self.check_clauses(decision_id, policy, aggregation, inputs, outputs)
        rules = []
        for index, rule_node in enumerate(self.children(node, "rule"), start=1):
            rule_id = rule_node.get("id") or f"{decision_id}_rule{index}"
            entries = self.children(rule_node, "inputEntry")
            outs = self.children(rule_node, "outputEntry")
            if len(entries) != len(inputs) or len(outs) != len(outputs):
                self.problem(
                    rule_id,
                    "rule_shape",
                    f"Decision '{decision_id}', rule {index} has {len(entries)} input and "
                    f"{len(outs)} output cells; the table has {len(inputs)} inputs and "
                    f"{len(outputs)} outputs.",
                )
                continue
            rules.append(
                Rule(
                    id=rule_id,
                    index=index,
                    description=self.text_of(rule_node, "description"),
                    input_entries=tuple(
                        self.unary(
                            self.text_of(entry),
                            f"Decision '{decision_id}', rule {index}, input '{clause.title}'",
                            rule_id,
                            variable,
                        )
                        for entry, clause, variable in zip(
                            entries, inputs, input_variables, strict=True
                        )
                    ),
                    output_entries=tuple(
                        self.feel(
                            self.text_of(entry),
                            f"Decision '{decision_id}', rule {index}, output '{clause.title}'",
                            rule_id,
                        )
                        for entry, clause in zip(outs, outputs, strict=True)
                    ),
                )
            )
        if len(rules) > MAX_RULES:
            self.problem(
                decision_id,
                "too_many_rules",
                f"Decision '{decision_id}' has {len(rules):,} rules; the limit is {MAX_RULES:,}.",
            )
        return DecisionTable(policy, aggregation, tuple(inputs), tuple(outputs), tuple(rules))

    def check_clauses(self, decision_id, policy, aggregation, inputs, outputs) -> None:
        if not outputs:
            self.problem(decision_id, "no_outputs", f"Decision '{decision_id}' has no output.")
        if len(inputs) > MAX_CLAUSES or len(outputs) > MAX_CLAUSES:
            self.problem(
                decision_id,
                "too_many_columns",
                f"Decision '{decision_id}' has more than {MAX_CLAUSES} columns.",
            )
        if len(outputs) > 1:
            names = [o.name for o in outputs]
            if not all(names):
                self.problem(
                    decision_id,
                    "output_name_missing",
                    f"Decision '{decision_id}' has several outputs: each needs a name.",
                )
            elif len(set(names)) != len(names):
                self.problem(
                    decision_id,
                    "output_name_duplicate",
                    f"Decision '{decision_id}' has two outputs with the same name.",
                )
            if aggregation is not None:
                self.problem(
                    decision_id,
                    "bad_aggregation",
                    f"Decision '{decision_id}': COLLECT {aggregation.value} needs exactly "
                    "one output.",
                )
        if policy in (HitPolicy.PRIORITY, HitPolicy.OUTPUT_ORDER) and not any(
            o.allowed for o in outputs
        ):
            self.problem(
                decision_id,
                "priority_without_values",
                f"Decision '{decision_id}': {policy.value} ranks rules by the outputs' "
                "allowed values; list them on at least one output.",
            )

    def decision(self, node: Any) -> Decision | None:
        decision_id = (node.get("id") or "").strip()
        if not decision_id:
            self.problem(None, "missing_id", "A decision has no id.")
            return None
        name = (node.get("name") or "").strip()
        variable = node.find(self.q("variable"))
        # As Camunda 8's engine: the <variable> name, else the decision id (FEEL can name an id;
        # a name like "Risk class" it cannot).
        variable_name = (variable.get("name") if variable is not None else None) or decision_id
        table_node = node.find(self.q("decisionTable"))
        literal_node = node.find(self.q("literalExpression"))
        logic: DecisionTable | LiteralExpression | None
        if table_node is not None:
            logic = self.table(decision_id, table_node)
        elif literal_node is not None:
            text = self.text_of(literal_node)
            logic = LiteralExpression(
                expression=self.feel(
                    text, f"Decision '{decision_id}', literal expression", decision_id
                ),
                type_ref=(variable.get("typeRef") if variable is not None else None)
                or literal_node.get("typeRef"),
            )
        else:
            self.problem(
                decision_id,
                "unsupported_decision",
                f"Decision '{decision_id}' is neither a decision table nor a literal "
                "expression; Flowgate runs only those two.",
            )
            return None
        if logic is None:
            return None
        required_decisions, required_inputs = self.requirements(node)
        return Decision(
            id=decision_id,
            name=name or decision_id,
            variable_name=variable_name or decision_id,
            logic=logic,
            required_decisions=required_decisions,
            required_inputs=required_inputs,
        )

    def definitions(self) -> DmnDefinitions:
        version = dmn_version_of(self.ns) or "?"
        decisions: dict[str, Decision] = {}
        nodes = self.children(self.root, "decision")
        if not nodes:
            self.problem(None, "no_decision", "The file has no <decision> element.")
        if len(nodes) > MAX_DECISIONS:
            self.problem(
                None,
                "too_many_decisions",
                f"The file has {len(nodes)} decisions; the limit is {MAX_DECISIONS}.",
            )
        for node in nodes[:MAX_DECISIONS]:
            decision = self.decision(node)
            if decision is None:
                continue
            if decision.id in decisions:
                self.problem(decision.id, "duplicate_id", f"Two decisions have id '{decision.id}'.")
            decisions[decision.id] = decision
        input_data = {}
        for node in self.children(self.root, "inputData"):
            data_id = (node.get("id") or "").strip()
            variable = node.find(self.q("variable"))
            name = (node.get("name") or "").strip()
            if data_id:
                input_data[data_id] = InputData(
                    id=data_id,
                    name=(variable.get("name") if variable is not None else None)
                    or name
                    or data_id,
                    type_ref=variable.get("typeRef") if variable is not None else None,
                )
        self.check_requirements(decisions, input_data)
        return DmnDefinitions(
            id=(self.root.get("id") or "").strip(),
            name=(self.root.get("name") or "").strip(),
            namespace=self.ns,
            dmn_version=version,
            decisions=decisions,
            input_data=input_data,
        )

    def check_requirements(self, decisions: dict[str, Decision], inputs: dict) -> None:
        for decision in decisions.values():
            for required in decision.required_decisions:
                if required not in decisions:
                    self.problem(
                        decision.id,
                        "unknown_required_decision",
                        f"Decision '{decision.id}' requires decision '{required}', which "
                        "is not in the file.",
                    )
            for required in decision.required_inputs:
                if required not in inputs:
                    self.problem(
                        decision.id,
                        "unknown_input_data",
                        f"Decision '{decision.id}' requires input data '{required}', "
                        "which is not in the file.",
                    )
        state: dict[str, int] = {}

        def visit(decision_id: str, path: list[str]) -> None:
            if state.get(decision_id) == 2 or decision_id not in decisions:
                return
            if state.get(decision_id) == 1:
                cycle = " -> ".join([*path[path.index(decision_id) :], decision_id])
                self.problem(
                    decision_id,
                    "requirement_cycle",
                    f"Decisions require each other in a cycle: {cycle}.",
                )
                return
            state[decision_id] = 1
            for required in decisions[decision_id].required_decisions:
                visit(required, [*path, decision_id])
            state[decision_id] = 2

        for decision_id in decisions:
            visit(decision_id, [])


def parse_dmn(data: bytes | str) -> DmnDefinitions:
    """Parse a DMN file. Raises ``UnsafeXmlError`` / ``BpmnValidationError`` (xml_syntax) from the
    hardened parser, and ``DmnValidationError`` with every problem for a file that is not DMN or
    has unreadable cells."""
    root = parse_xml(data)
    if not is_dmn(root):
        raise DmnValidationError(
            [Problem(None, "not_dmn", "The file is not a DMN 1.1-1.5 <definitions> document.")]
        )
    reader = _Reader(root)
    definitions = reader.definitions()
    if reader.problems:
        raise DmnValidationError(reader.problems)
    return definitions
