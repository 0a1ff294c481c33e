"""The one FEEL translator (``expressions.from_feel``): what it translates, what it refuses
whoever asks, and what a caller adds to its refusals (the DMN cells and the Camunda 8 importer
word their own messages, see tests/engine_core/dmn and tests/processes/test_import.py)."""

from __future__ import annotations

import pytest

from apps.engine.core.dmn.feel import FeelError, translate
from apps.engine.core.expressions import check
from apps.engine.core.expressions.from_feel import (
    DATE_FUNCTIONS,
    DURATION_FUNCTION,
    IF_THEN_ELSE,
    TEMPORAL_LITERAL,
    FeelUnsupported,
    translate_feel,
)


@pytest.mark.parametrize(
    ("feel", "expected"),
    [
        ('=amount > 1000 and region = "EU"', 'amount > 1000 and region == "EU"'),
        ('order.customer.tier = "gold"', "order['customer']['tier'] == \"gold\""),
        ('list contains(tags, "vip")', 'contains(tags, "vip")'),
        ('date and time("2024-01-01T10:00:00Z")', 'datetime("2024-01-01T10:00:00Z")'),
        ("count(items) >= 2", "len(items) >= 2"),
    ],
)
def test_the_common_subset_is_translated(feel, expected):
    assert translate_feel(feel) == expected
    assert check(expected) is None


def test_if_then_else_becomes_a_conditional_expression():
    assert translate_feel('if a.b = 1 then "x" else "y"') == '("x") if (a[\'b\'] == 1) else ("y")'


@pytest.mark.parametrize(
    ("feel", "expected"),
    [
        ('name = "a = b.c"', 'name == "a = b.c"'),
        ('upper case("upper case(x)")', 'upper("upper case(x)")'),
        ("label = 'a = b.c'", "label == 'a = b.c'"),
    ],
)
def test_text_inside_strings_is_left_alone(feel, expected):
    assert translate_feel(feel) == expected


def test_a_path_followed_by_a_call_is_not_cut_in_the_middle_of_a_name():
    # Not "a['b']c(x)": the call stays attribute access, which the checker names.
    assert translate_feel("a.bc(x)") == "a.bc(x)"


@pytest.mark.parametrize(
    ("feel", "what"),
    [
        ("x between 1 and 10", "'between'"),
        ("some i in items satisfies i > 1", "quantified expressions (some/every ... satisfies)"),
        ("for i in items return i * 2", "'for' loops"),
        ("x instance of number", "'instance of'"),
        ("function(a) a + 1", "function definitions"),
        ('x < @"2024-01-01"', 'temporal literals (@"...")'),
        ('@"P1D"', 'temporal literals (@"...")'),
    ],
)
def test_constructs_flowgate_never_runs_are_refused_whoever_asks(feel, what):
    with pytest.raises(FeelUnsupported) as refused:
        translate_feel(feel)
    assert refused.value.construct.what == what


def test_a_temporal_literal_inside_a_string_is_only_text():
    assert translate_feel('note = "mail me @"') == 'note == "mail me @"'


@pytest.mark.parametrize(
    ("feel", "refuse", "construct"),
    [
        ("if a then b else c", (IF_THEN_ELSE, DATE_FUNCTIONS), IF_THEN_ELSE),
        ('date("2024-01-01") < today()', (IF_THEN_ELSE, DATE_FUNCTIONS), DATE_FUNCTIONS),
        ('duration("P1D")', (DURATION_FUNCTION,), DURATION_FUNCTION),
    ],
)
def test_a_caller_refuses_more(feel, refuse, construct):
    with pytest.raises(FeelUnsupported) as refused:
        translate_feel(feel, refuse=refuse)
    assert refused.value.construct is construct


def test_the_dmn_words_its_own_messages():
    with pytest.raises(FeelError) as error:
        translate('x < @"2024-01-01"')
    assert error.value.message == 'temporal literals (@"...") are only supported in input entries'
    with pytest.raises(FeelError) as error:
        translate('duration("P1D") > x')
    assert error.value.message == (
        "it uses durations outside input entries, which Flowgate does not run"
    )
    assert TEMPORAL_LITERAL.what == 'temporal literals (@"...")'
