"""FEEL simple unary tests: every form an input entry can take, and how each matches."""

from __future__ import annotations

import datetime as dt

import pytest

from apps.engine.core.dmn.feel import FeelError
from apps.engine.core.dmn.unary import compile_unary_tests


def matches(cell: str, value, **variables) -> bool:
    return compile_unary_tests(cell).matches(value, variables)


@pytest.mark.parametrize(
    ("cell", "value", "expected"),
    [
        ("-", 5, True),
        ("", None, True),
        ("< 10", 9, True),
        ("< 10", 10, False),
        ("<= 10", 10, True),
        ("> 10", 10.5, True),
        (">= 10", 9.99, False),
        ("10", 10, True),
        ("10", 10.0, True),
        ("10", "10", False),
        ("= 10", 10, True),
        ("!= 10", 11, True),
        ("[1..5]", 1, True),
        ("[1..5]", 5, True),
        ("[1..5]", 5.01, False),
        ("]1000..100000]", 1000, False),
        ("]1000..100000]", 1000.01, True),
        ("]1000..100000]", 100000, True),
        ("[1..5[", 5, False),
        ("(1..5)", 1, False),
        ("(1..5)", 4, True),
        ("[1..5], 7", 7, True),
        ("[1..5[, 7", 7, True),
        ('"a","b"', "b", True),
        ('"a","b"', "c", False),
        ('"a, b"', "a, b", True),
        ('not("x")', "y", True),
        ('not("x")', "x", False),
        ('not("x", "y")', "y", False),
        ('not("x")', None, True),
        ("null", None, True),
        ("null", 0, False),
        ("not(null)", 0, True),
        ("< 10", None, False),
        ("< 10", "abc", False),
        ("true", True, True),
        ("true", 1, False),
        ("false", False, True),
        ("-5", -5, True),
        ("< -5", -6, True),
        ('"say \\"hi\\""', 'say "hi"', True),
    ],
)
def test_unary_test_matches(cell, value, expected):
    assert matches(cell, value) is expected


@pytest.mark.parametrize(
    ("cell", "value", "expected"),
    [
        ('date("2024-01-01")', "2024-01-01", True),
        ('< date("2024-01-01")', "2023-12-31", True),
        ('< date("2024-01-01")', "2024-01-01", False),
        ('[date("2024-01-01")..date("2024-12-31")]', dt.date(2024, 6, 1), True),
        ('[date("2024-01-01")..date("2024-12-31")]', "2025-01-01", False),
        ('>= date and time("2024-01-01T10:00:00Z")', "2024-01-01T11:00:00+00:00", True),
        ('>= date and time("2024-01-01T10:00:00Z")', "2024-01-01T09:59:00Z", False),
        ('@"2024-01-01"', "2024-01-01", True),
        ('> duration("P3D")', "P4D", True),
        ('> duration("P3D")', "PT72H", False),
        ('<= duration("PT2H")', "PT90M", True),
        ('[duration("P1Y")..duration("P2Y")]', "P18M", True),
        ('> duration("P1Y")', "P6M", False),
        ('< date("2024-01-01")', "not a date", False),
        ('< date("2024-01-01")', 5, False),
        ('[time("09:00:00")..time("17:00:00")[', "16:59:59", True),
        ('[time("09:00:00")..time("17:00:00")[', "17:00:00", False),
    ],
)
def test_dates_and_durations(cell, value, expected):
    assert matches(cell, value) is expected


def test_endpoints_can_name_other_variables():
    assert matches("< limit", 5, limit=10) is True
    assert matches("< limit", 15, limit=10) is False
    assert matches("[low..high]", 3, low=1, high=5) is True
    assert matches("< order.limit", 5, order={"limit": 10}) is True
    assert matches("< limit * 2", 15, limit=10) is True


def test_question_mark_expressions():
    assert matches("? > 5 and ? < 10", 7) is True
    assert matches("? > 5 and ? < 10", 10) is False
    assert matches('contains(?, "urgent")', "very urgent") is True
    assert matches("string length(?) > 3", "abcd") is True


def test_a_missing_variable_is_null_and_does_not_match():
    assert matches("< limit", 5) is False


@pytest.mark.parametrize(
    "cell",
    [
        "[1..]",
        "< ",
        '"a",,"b"',
        'date("2024-13-45")',
        'duration("P")',
        "not()",
        "x.__class__",
        "__import__('os')",
        "for x in y return x",
        "< (1 +",
    ],
)
def test_unreadable_cells_are_refused_when_compiled(cell):
    with pytest.raises(FeelError):
        compile_unary_tests(cell)


def test_literal_values_keep_their_order():
    tests = compile_unary_tests('"high","medium","low"')
    assert tests.literal_values == ["high", "medium", "low"]


def test_a_boolean_expression_decides_by_itself():
    assert matches("amount > limit", "gold", amount=10, limit=5) is True
    assert matches("amount > limit", "gold", amount=1, limit=5) is False
    assert matches("flag", True, flag=True) is True  # a boolean input: equality
    assert matches("flag", False, flag=True) is False


def test_camunda_7_cell_input_reads_like_a_question_mark():
    tests = compile_unary_tests("cellInput > 5 and cellInput < 10", "cellInput")
    assert tests.source == "cellInput > 5 and cellInput < 10"
    assert tests.matches(7, {}) is True
    assert tests.matches(10, {}) is False
    named = compile_unary_tests('contains(text, "x")', "text")
    assert named.matches("xyz", {}) is True
    assert compile_unary_tests('"cellInput"', "cellInput").matches("cellInput", {}) is True


def test_a_list_of_values_matches_any_item():
    assert matches("[1, 2, 3]", 2) is True
    assert matches("[1, 2, 3], 7", 7) is True
    assert matches('["a", "b"]', "c") is False
    assert matches("[1..3], [5, 6]", 6) is True
