"""Warnings at deploy: UNIQUE rules that can match the same inputs (only when certain)."""

from __future__ import annotations

import pytest

from apps.engine.core.dmn import parse_dmn
from apps.engine.core.dmn.analysis import definitions_warnings

from .support import dmn_file, table_dmn


def warned(rules, inputs=None, hit_policy="UNIQUE"):
    inputs = inputs or [("x", "number"), ("y", "string")]
    xml = table_dmn(inputs=inputs, outputs=["o"], rules=rules, hit_policy=hit_policy)
    found = definitions_warnings(parse_dmn(xml))
    return [(p.element_id, p.code) for p in found if p.code == "unique_overlap_possible"]


@pytest.mark.parametrize(
    ("first", "second", "overlap"),
    [
        (["< 10", "-"], [">= 10", "-"], False),
        (["<= 10", "-"], [">= 10", "-"], True),
        (["[1..5]", '"a"'], ["[5..9]", '"a","b"'], True),
        (["[1..5[", '"a"'], ["[5..9]", '"a"'], False),
        (["]1000..100000]", "-"], ["1000", "-"], False),
        (["-", '"a"'], ["-", '"b"'], False),
        (["-", "-"], ["7", "-"], True),
        (['not("a")', "-"], ["-", "-"], False),  # not(...) is never judged
        (["< limit", "-"], ["-", "-"], False),  # another variable: unknown
    ],
)
def test_overlaps_are_found_only_when_certain(first, second, overlap):
    rules = [(first, ['"1"']), (second, ['"2"'])]
    assert warned(rules) == ([("r2", "unique_overlap_possible")] if overlap else [])


def test_other_hit_policies_and_mixed_types_are_not_warned():
    rules = [(["< 10", "-"], ['"1"']), (["< 20", "-"], ['"2"'])]
    assert warned(rules, hit_policy="FIRST") == []
    assert warned([(['"a"', "-"], ['"1"']), (["< 20", "-"], ['"2"'])]) == []


def test_dates_compare():
    rules = [
        (['< date("2024-06-01")'], ['"1"']),
        (['[date("2024-05-01")..date("2024-12-31")]'], ['"2"']),
    ]
    assert warned(rules, inputs=[("d", "date")]) == [("r2", "unique_overlap_possible")]


def test_the_camunda_example_has_no_warning():
    assert definitions_warnings(parse_dmn(dmn_file("approval.dmn"))) == []


def uncovered(cells, hit_policy="FIRST"):
    xml = table_dmn(
        inputs=[("x", "number")],
        outputs=["o"],
        rules=[([c], ['"r"']) for c in cells],
        hit_policy=hit_policy,
    )
    return [
        p.message.split("'In 1' ", 1)[1].split(";")[0] for p in definitions_warnings(parse_dmn(xml))
    ]


@pytest.mark.parametrize(
    ("cells", "gaps"),
    [
        (["< 10", ">= 10"], []),
        (["< 10", "> 10"], ["10"]),
        (["[0..10]", "]10..100]"], ["< 0, > 100"]),
        (["< 0", "[0..5[", "[7..9]", "> 9"], ["[5..7["]),
        (["-"], []),
        (["< 10", "-"], []),
        (["1", "2", "3"], ["< 1, ]1..2[, ]2..3[, > 3"]),
    ],
)
def test_numbers_no_rule_covers(cells, gaps):
    assert uncovered(cells) == gaps


def test_coverage_is_not_judged_on_text_or_unknown_cells():
    xml = table_dmn(
        inputs=[("s", "string"), ("x", "number")],
        outputs=["o"],
        rules=[(['"a"', "< limit"], ['"r"'])],
        hit_policy="FIRST",
    )
    assert definitions_warnings(parse_dmn(xml)) == []
