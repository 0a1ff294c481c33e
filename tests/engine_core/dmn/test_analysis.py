"""Warnings at deploy: UNIQUE rules that can match the same inputs (only when certain)."""

from __future__ import annotations

import pytest

from apps.engine.core.dmn import parse_dmn
from apps.engine.core.dmn.analysis import definitions_warnings

from .support import dmn_file, table_dmn


def warned(rules, inputs=None, hit_policy="UNIQUE"):
    inputs = inputs or [("x", "number"), ("y", "string")]
    xml = table_dmn(inputs=inputs, outputs=["o"], rules=rules, hit_policy=hit_policy)
    return [(p.element_id, p.code) for p in definitions_warnings(parse_dmn(xml))]


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
