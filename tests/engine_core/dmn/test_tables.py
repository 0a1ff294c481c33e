"""Decision tables: hit policies, result shapes, typed and allowed inputs, outputs, explanations."""

from __future__ import annotations

import pytest

from apps.engine.core.dmn import DmnEvaluationError, evaluate_decision, parse_dmn

from .support import table_dmn


def run(variables: dict, **table):
    definitions = parse_dmn(table_dmn(**table))
    return evaluate_decision(definitions, "d", variables)


SCORES = {
    "inputs": [("score", "number")],
    "outputs": ["grade"],
    "rules": [
        ([">= 90"], ['"A"']),
        ([">= 50"], ['"B"']),
        (["< 50"], ['"C"']),
    ],
}


def test_unique_single_match_gives_the_value():
    result = run({"score": 30}, **SCORES)
    assert result.result == "C"
    assert [r["id"] for r in result.matched_rules] == ["r3"]


def test_unique_overlap_is_an_error_naming_the_rules():
    with pytest.raises(DmnEvaluationError) as caught:
        run({"score": 95}, **SCORES)
    assert caught.value.code == "unique_overlap"
    assert caught.value.rule_ids == ("r1", "r2")
    assert "rules 1, 2 (r1, r2) all match" in caught.value.message


def test_no_match_is_null():
    result = run({"score": None}, **SCORES)
    assert result.result is None
    assert result.matched_rules == []


def test_first_takes_the_first_matching_rule():
    assert run({"score": 95}, hit_policy="FIRST", **SCORES).result == "A"


def test_rule_order_lists_every_match_in_rule_order():
    result = run({"score": 95}, hit_policy="RULE ORDER", **SCORES)
    assert result.result == ["A", "B"]


@pytest.mark.parametrize("policy", ["RULE ORDER", "OUTPUT ORDER", "COLLECT"])
def test_a_list_policy_with_no_match_is_null(policy):
    table = dict(SCORES, outputs=[("grade", '"A","B","C"')])
    assert run({"score": None}, hit_policy=policy, **table).result is None


def test_no_match_gives_the_default_output_entries():
    xml = table_dmn(**SCORES, hit_policy="COLLECT").replace(
        b'<output id="out1" name="grade">',
        b'<output id="out1" name="grade"><defaultOutputEntry><text>"none"</text>'
        b"</defaultOutputEntry>",
    )
    assert evaluate_decision(parse_dmn(xml), "d", {"score": None}).result == "none"


def test_several_outputs_make_an_object_by_output_name():
    result = run(
        {"amount": 5000, "region": "EU"},
        inputs=[("amount", "number"), ("region", "string")],
        outputs=["approver", "level"],
        rules=[
            (["<= 1000", "-"], ['"lead"', "1"]),
            (["> 1000", '"EU","UK"'], ['"manager"', "2"]),
            (["> 1000", 'not("EU","UK")'], ['"cfo"', "3"]),
        ],
    )
    assert result.result == {"approver": "manager", "level": 2}
    assert result.rule_outputs == [{"approver": "manager", "level": 2}]


CHECKS = {
    "inputs": [("amount", "number")],
    "outputs": ["check"],
    "rules": [
        (["> 100"], ['"id"']),
        (["> 1000"], ['"credit"']),
        (["> 1000"], ['"id"']),
        (["> 10000"], ['"board"']),
    ],
}


def test_collect_gives_a_list():
    result = run({"amount": 5000}, hit_policy="COLLECT", **CHECKS)
    assert result.result == ["id", "credit", "id"]
    assert [r["index"] for r in result.matched_rules] == [1, 2, 3]


FEES = {
    "inputs": [("amount", "number")],
    "outputs": ["fee"],
    "rules": [
        (["> 0"], ["10"]),
        (["> 1000"], ["25"]),
        (["> 1000"], ["25"]),
        (["> 5000"], ["amount * 0.01"]),
    ],
}


@pytest.mark.parametrize(
    ("aggregation", "amount", "expected"),
    [
        ("SUM", 2000, 60),
        ("SUM", 10000, 160.0),
        ("MIN", 2000, 10),
        ("MAX", 10000, 100.0),
        ("COUNT", 2000, 3),
        ("COUNT", -1, None),
        ("SUM", -1, None),
        ("MAX", -1, None),
    ],
)
def test_collect_with_an_aggregator_gives_a_number(aggregation, amount, expected):
    result = run({"amount": amount}, hit_policy="COLLECT", aggregation=aggregation, **FEES)
    assert result.result == expected


def test_collect_sum_of_text_is_an_error():
    with pytest.raises(DmnEvaluationError) as caught:
        run({"amount": 5000}, hit_policy="COLLECT", aggregation="SUM", **CHECKS)
    assert caught.value.code == "aggregation_type"


def test_any_with_equal_outputs_gives_the_output():
    table = dict(CHECKS, rules=[(["> 100"], ['"id"']), (["> 1000"], ['"id"'])])
    assert run({"amount": 5000}, hit_policy="ANY", **table).result == "id"


def test_any_with_differing_outputs_is_an_error():
    with pytest.raises(DmnEvaluationError) as caught:
        run({"amount": 5000}, hit_policy="ANY", **CHECKS)
    assert caught.value.code == "any_conflict"
    assert caught.value.rule_ids == ("r1", "r2", "r3")


LEVELS = {
    "inputs": [("amount", "number")],
    "outputs": [("level", '"high","medium","low"')],
    "rules": [
        (["> 0"], ['"low"']),
        (["> 10000"], ['"high"']),
        (["> 1000"], ['"medium"']),
    ],
}


def test_priority_picks_the_output_listed_first_in_the_allowed_values():
    result = run({"amount": 50000}, hit_policy="PRIORITY", **LEVELS)
    assert result.result == "high"
    assert [r["id"] for r in result.matched_rules] == ["r2"]
    assert run({"amount": 5000}, hit_policy="PRIORITY", **LEVELS).result == "medium"


def test_output_order_sorts_matches_by_priority():
    result = run({"amount": 50000}, hit_policy="OUTPUT ORDER", **LEVELS)
    assert result.result == ["high", "medium", "low"]
    assert [r["id"] for r in result.matched_rules] == ["r2", "r3", "r1"]


def test_an_output_outside_its_allowed_values_is_an_error_naming_the_rule():
    table = dict(LEVELS, rules=[(["> 0"], ['"extreme"'])])
    with pytest.raises(DmnEvaluationError) as caught:
        run({"amount": 1}, hit_policy="FIRST", **table)
    assert caught.value.code == "output_not_allowed"
    assert caught.value.rule_ids == ("r1",)


def test_an_input_of_the_wrong_type_is_an_error_naming_the_input():
    with pytest.raises(DmnEvaluationError) as caught:
        run({"score": "ninety"}, **SCORES)
    assert caught.value.code == "input_type"
    assert caught.value.input_id == "in1"
    assert "must be a number, not text 'ninety'" in caught.value.message


def test_booleans_are_not_numbers():
    with pytest.raises(DmnEvaluationError) as caught:
        run({"score": True}, **SCORES)
    assert caught.value.code == "input_type"


def test_an_input_outside_its_allowed_values_is_an_error():
    with pytest.raises(DmnEvaluationError) as caught:
        run(
            {"region": "MARS"},
            inputs=[("region", "string")],
            outputs=["ok"],
            rules=[(["-"], ["true"])],
            input_values={1: '"EU","US"'},
        )
    assert caught.value.code == "input_not_allowed"
    assert "'MARS'" in caught.value.message


def test_input_expressions_and_output_entries_are_feel():
    result = run(
        {"order": {"amount": 400, "items": 3}, "customer": "gold"},
        inputs=[("order.amount * order.items", "number"), ('customer = "gold"', "boolean")],
        outputs=["discount", "note"],
        rules=[
            ([">= 1000", "true"], ["order.amount * 0.1", '"gold: " + upper case(customer)']),
            (["-", "-"], ["0", "null"]),
        ],
        hit_policy="FIRST",
    )
    assert result.result == {"discount": 40.0, "note": "gold: GOLD"}


def test_if_then_else_in_an_output_entry():
    result = run(
        {"amount": 50},
        inputs=[("amount", "number")],
        outputs=["size"],
        rules=[(["-"], ['if amount > 100 then "big" else "small"'])],
    )
    assert result.result == "small"


def test_integer_type_accepts_whole_floats_only():
    table = {"inputs": [("n", "integer")], "outputs": ["x"], "rules": [(["-"], ["1"])]}
    assert run({"n": 3.0}, **table).result == 1
    with pytest.raises(DmnEvaluationError):
        run({"n": 3.5}, **table)


def test_date_inputs_are_read_from_iso_text():
    result = run(
        {"start": "2024-03-01"},
        inputs=[("start", "date")],
        outputs=["season"],
        rules=[
            (['[date("2024-03-01")..date("2024-05-31")]'], ['"spring"']),
            (['< date("2024-03-01")'], ['"winter"']),
        ],
    )
    assert result.result == "spring"
    assert result.explanation["inputs"][0]["value"] == "2024-03-01"
    with pytest.raises(DmnEvaluationError) as caught:
        run({"start": "March"}, inputs=[("start", "date")], outputs=["s"], rules=[])
    assert caught.value.code == "input_type"


def test_explanation_says_what_was_seen_and_why():
    result = run({"score": 70}, **SCORES)
    assert result.explanation == {
        "decision_id": "d",
        "decision_name": "Test decision",
        "kind": "table",
        "hit_policy": "UNIQUE",
        "aggregation": None,
        "inputs": [{"id": "in1", "label": "In 1", "expression": "score", "value": 70}],
        "matched_rules": [{"id": "r2", "index": 2, "description": "", "outputs": {"grade": "B"}}],
        "result": "B",
    }


def test_a_failing_output_expression_names_the_rule():
    with pytest.raises(DmnEvaluationError) as caught:
        run(
            {"amount": 1},
            inputs=[("amount", "number")],
            outputs=["x"],
            rules=[(["-"], ["amount / 0"])],
        )
    assert caught.value.code == "bad_expression"
    assert caught.value.rule_ids == ("r1",)
    assert "rule 1" in caught.value.message and "division by zero" in caught.value.message
