"""Parsing DMN files (1.1 to 1.5, detected by content), decision requirements, literal decisions,
and every problem a broken file has, named on its element."""

from __future__ import annotations

import pytest

from apps.engine.core.dmn import (
    DmnEvaluationError,
    DmnValidationError,
    evaluate_decision,
    is_dmn,
    parse_dmn,
)
from apps.engine.core.errors import BpmnValidationError, UnsafeXmlError
from apps.engine.core.xml import parse_xml

from .support import DMN11, dmn_file, table_dmn


def test_camunda_modeler_file_parses_whole():
    definitions = parse_dmn(dmn_file("approval.dmn"))
    assert definitions.dmn_version == "1.3"
    assert list(definitions.decisions) == ["approval_level", "risk_class", "greeting"]
    assert definitions.decisions["approval_level"].required_decisions == ("risk_class",)
    assert definitions.decisions["approval_level"].required_inputs == ("InputData_amount",)
    summary = definitions.summary()
    assert summary["decisions"][0] == {
        "id": "approval_level",
        "name": "Approval level",
        "kind": "table",
        "required_decisions": ["risk_class"],
        "required_inputs": ["InputData_amount"],
        "hit_policy": "FIRST",
        "aggregation": None,
        "rules": 3,
    }
    assert summary["decisions"][2]["kind"] == "literal"


@pytest.mark.parametrize(
    ("country", "amount", "approver", "rule"),
    [
        ("DE", 500, "team_lead", "Rule_small"),
        ("US", 500, "cfo", "Rule_cfo"),
        ("FR", 5000, "manager", "Rule_mid"),
        ("DE", 250000, "cfo", "Rule_cfo"),
    ],
)
def test_a_decision_requiring_another_uses_its_result(country, amount, approver, rule):
    definitions = parse_dmn(dmn_file("approval.dmn"))
    result = evaluate_decision(
        definitions, "approval_level", {"country": country, "amount": amount}
    )
    assert result.result["approver"] == approver
    assert result.matched_rules[0]["id"] == rule
    required = result.explanation["required"][0]
    assert required["decision_id"] == "risk_class"
    assert required["result"] == ("low" if country in ("DE", "FR") else "high")


def test_the_explanation_answers_why_the_cfo():
    definitions = parse_dmn(dmn_file("approval.dmn"))
    result = evaluate_decision(definitions, "approval_level", {"country": "US", "amount": 500})
    explanation = result.explanation
    assert explanation["matched_rules"] == [
        {
            "id": "Rule_cfo",
            "index": 3,
            "description": "Large or risky: the CFO",
            "outputs": {"approver": "cfo", "reason": "over 100k or high risk"},
        }
    ]
    assert explanation["inputs"] == [
        {"id": "Input_amount", "label": "Amount", "expression": "amount", "value": 500},
        {"id": "Input_risk", "label": "Risk", "expression": "risk", "value": "high"},
    ]
    assert explanation["input_data"] == {"amount": 500}


def test_output_entries_can_use_required_results():
    definitions = parse_dmn(dmn_file("approval.dmn"))
    result = evaluate_decision(definitions, "approval_level", {"country": "NL", "amount": 2000})
    assert result.result == {"approver": "manager", "reason": "up to 100k, risk low"}


def test_literal_expression_decision():
    definitions = parse_dmn(dmn_file("approval.dmn"))
    result = evaluate_decision(definitions, "greeting", {"name": "ada"})
    assert result.result == "Hello ADA"
    assert result.explanation["expression"] == '"Hello " + upper case(name)'


def test_dmn_11_namespace_and_old_hit_policy_spelling():
    data = table_dmn(
        inputs=[("x", "integer")],
        outputs=["y"],
        rules=[(["> 1"], ['"big"']), (["> 5"], ['"bigger"'])],
        hit_policy="RULE_ORDER",
        namespace=DMN11,
    )
    definitions = parse_dmn(data)
    assert definitions.dmn_version == "1.1"
    assert evaluate_decision(definitions, "d", {"x": 9}).result == ["big", "bigger"]


@pytest.mark.parametrize(
    "namespace",
    [
        "http://www.omg.org/spec/DMN/20180521/MODEL/",
        "https://www.omg.org/spec/DMN/20211108/MODEL/",
        "https://www.omg.org/spec/DMN/20230324/MODEL/",
        "https://www.omg.org/spec/DMN/20191111/MODEL",
    ],
)
def test_every_dmn_version_is_recognised_by_content(namespace):
    data = table_dmn(inputs=[("x", None)], outputs=["y"], rules=[], namespace=namespace)
    assert is_dmn(parse_xml(data))
    assert parse_dmn(data).decisions["d"].kind == "table"


def test_a_bpmn_file_is_not_dmn():
    bpmn = b'<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"/>'
    assert not is_dmn(parse_xml(bpmn))
    with pytest.raises(DmnValidationError) as caught:
        parse_dmn(bpmn)
    assert caught.value.problems[0].code == "not_dmn"


def test_every_unreadable_cell_is_named_by_rule_and_column():
    data = table_dmn(
        inputs=[("amount", "number"), ("region", None)],
        outputs=["a"],
        rules=[
            (["[1..", '"EU"'], ['"x"']),
            (["-", "not()"], ["for x in y return x"]),
        ],
    )
    with pytest.raises(DmnValidationError) as caught:
        parse_dmn(data)
    problems = [(p.element_id, p.code) for p in caught.value.problems]
    assert problems == [("r1", "bad_feel"), ("r2", "bad_feel"), ("r2", "bad_feel")]
    messages = [p.message for p in caught.value.problems]
    assert messages[0].startswith("Decision 'd', rule 1, input 'In 1': '[1..' cannot be read")
    assert messages[2].startswith("Decision 'd', rule 2, output 'a'")


@pytest.mark.parametrize(
    ("table", "code"),
    [
        ({"hit_policy": "SOMETIMES"}, "bad_hit_policy"),
        ({"hit_policy": "FIRST", "aggregation": "SUM"}, "bad_aggregation"),
        ({"hit_policy": "COLLECT", "aggregation": "AVG"}, "bad_aggregation"),
        ({"hit_policy": "PRIORITY"}, "priority_without_values"),
        ({"outputs": ["a", "a"]}, "output_name_duplicate"),
        ({"rules": [(["1", "2"], ['"x"'])]}, "rule_shape"),
    ],
)
def test_table_problems(table, code):
    base = {"inputs": [("x", None)], "outputs": ["a"], "rules": [(["1"], ['"x"'])]}
    if "outputs" in table and len(table["outputs"]) == 2:
        base["rules"] = [(["1"], ['"x"', '"y"'])]
    with pytest.raises(DmnValidationError) as caught:
        parse_dmn(table_dmn(**{**base, **table}))
    assert code in [p.code for p in caught.value.problems]


def _requirements_file(body: str) -> bytes:
    return (
        '<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="x" name="x" '
        f'namespace="x">{body}</definitions>'
    ).encode()


def _literal(decision_id: str, requires: str = "", text: str = "1") -> str:
    requirement = (
        f'<informationRequirement><requiredDecision href="#{requires}"/></informationRequirement>'
        if requires
        else ""
    )
    return (
        f'<decision id="{decision_id}" name="{decision_id}">{requirement}'
        f"<literalExpression><text>{text}</text></literalExpression></decision>"
    )


def test_requirement_cycles_and_unknown_references_are_problems():
    with pytest.raises(DmnValidationError) as caught:
        parse_dmn(_requirements_file(_literal("a", "b") + _literal("b", "a") + _literal("c", "z")))
    codes = sorted(p.code for p in caught.value.problems)
    assert codes == ["requirement_cycle", "unknown_required_decision"]


def test_a_chain_of_literal_decisions():
    definitions = parse_dmn(
        _requirements_file(
            _literal("base", text="price * 2") + _literal("total", "base", "base + shipping")
        )
    )
    result = evaluate_decision(definitions, "total", {"price": 10, "shipping": 5})
    assert result.result == 25
    assert result.explanation["required"][0]["result"] == 20


def test_no_decision_and_unsupported_logic():
    with pytest.raises(DmnValidationError) as caught:
        parse_dmn(_requirements_file(""))
    assert [p.code for p in caught.value.problems] == ["no_decision"]
    with pytest.raises(DmnValidationError) as caught:
        parse_dmn(_requirements_file('<decision id="a"><context/></decision>'))
    assert [p.code for p in caught.value.problems] == ["unsupported_decision"]


def test_hostile_xml_is_refused_by_the_hardened_parser():
    with pytest.raises(UnsafeXmlError):
        parse_dmn(b'<!DOCTYPE x [<!ENTITY a "b">]><definitions xmlns="' + DMN11.encode() + b'"/>')
    with pytest.raises(BpmnValidationError):
        parse_dmn(b"<definitions")


def test_unknown_decision_at_evaluation():
    definitions = parse_dmn(dmn_file("approval.dmn"))
    with pytest.raises(DmnEvaluationError) as caught:
        evaluate_decision(definitions, "nope", {})
    assert caught.value.code == "unknown_decision"


def test_a_required_decision_is_read_by_its_id_or_variable_name():
    definitions = parse_dmn(dmn_file("approval.dmn"))
    assert definitions.decisions["risk_class"].variable_name == "risk_class"
    assert definitions.decisions["greeting"].variable_name == "greeting"
    by_id = dmn_file("approval.dmn").replace(b"<text>risk</text>", b"<text>risk_class</text>")
    result = evaluate_decision(parse_dmn(by_id), "approval_level", {"amount": 5, "country": "US"})
    assert result.result["approver"] == "cfo"


def test_a_literal_decision_result_must_fit_its_type():
    definitions = parse_dmn(dmn_file("approval.dmn"))  # greeting: typeRef string
    with pytest.raises(DmnEvaluationError) as caught:
        evaluate_decision(definitions, "greeting", {"name": 5})
    assert caught.value.code == "bad_expression"  # upper case(5) fails first
    typed = _requirements_file(
        '<decision id="n"><variable name="n" typeRef="number"/>'
        "<literalExpression><text>label</text></literalExpression></decision>"
    )
    with pytest.raises(DmnEvaluationError) as caught:
        evaluate_decision(parse_dmn(typed), "n", {"label": "ten"})
    assert caught.value.code == "result_type"
    assert "the result must be a number, not text 'ten'" in caught.value.message
    assert evaluate_decision(parse_dmn(typed), "n", {"label": 10}).result == 10
