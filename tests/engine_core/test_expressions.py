"""The expression language: normal use, Camunda syntax, and a corpus of hostile payloads."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.engine.core import expressions
from apps.engine.core.expressions import (
    Expression,
    ExpressionError,
    check,
    compile_expression,
    evaluate,
    names_used,
)

VARIABLES: dict[str, Any] = {
    "amount": 1500,
    "approved": True,
    "rejected": False,
    "name": "  Alice  ",
    "region": "EU",
    "result": {"items": [{"sku": "A-1", "qty": 2}, {"sku": "B-2", "qty": 5}], "total": 12.5},
    "approvers": ["ann", "bob", "cid"],
    "nrOfInstances": 3,
    "nrOfCompletedInstances": 2,
    "nothing": None,
    "x": {"y": 1},
    "big_list_variable": list(range(50_000)),
    "due": "2026-03-01T10:00:00Z",
}


# --------------------------------------------------------------------------------------------
# Normal expressions
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # gateway conditions
        ("amount > 1000", True),
        ("amount > 1000 and approved", True),
        ("amount <= 1000 or rejected", False),
        ("not approved", False),
        ("region in ['EU', 'UK']", True),
        ("region not in ('US',)", True),
        ("0 < amount < 2000", True),
        ("0 < amount < 1000", False),
        ("amount == 1500.0", True),
        ("amount != 1500", False),
        ("nothing is null", True),
        ("approved is not false", True),
        ("nothing == null", True),
        ("approved == true", True),
        ("'high' if amount > 1000 else 'low'", "high"),
        # mappings
        ("result['items'][0]", {"sku": "A-1", "qty": 2}),
        ("result['items'][-1]['qty']", 5),
        ("result['total'] * 2", 25.0),
        ("approvers[1:]", ["bob", "cid"]),
        ("approvers[::-1]", ["cid", "bob", "ann"]),
        ("'abcdef'[1:4]", "bcd"),
        ("{'who': approvers[0], 'n': len(approvers)}", {"who": "ann", "n": 3}),
        ("[1, 2] + [3]", [1, 2, 3]),
        ("(1, 2) + (3,)", (1, 2, 3)),
        ("{1, 2, 2}", {1, 2}),
        ("'ab' * 3", "ababab"),
        ("3 * [0]", [0, 0, 0]),
        # completion conditions
        ("nrOfCompletedInstances >= 2", True),
        ("nrOfCompletedInstances / nrOfInstances >= 0.5", True),
        # arithmetic
        ("7 // 2", 3),
        ("7 % 4", 3),
        ("-7 / 2", -3.5),
        ("2 ** 10", 1024),
        ("2 ** -1", 0.5),
        ("+amount - 500", 1000),
        ("2 ** 64", 18446744073709551616),
        # functions
        ("len(approvers)", 3),
        ("len(result)", 2),
        ("min(approvers)", "ann"),
        ("max(3, 9, 4)", 9),
        ("max(big_list_variable)", 49_999),
        ("min([2.5, 1])", 1),
        ("abs(-4)", 4),
        ("round(2.675, 1)", 2.7),
        ("round(2.5)", 2),
        ("int('42')", 42),
        ("int(3.9)", 3),
        ("float('1.5')", 1.5),
        ("str(12)", "12"),
        ("str(null)", "null"),
        ("str(true)", "true"),
        ("bool('')", False),
        ("sum([1, 2, 3.5])", 6.5),
        ("sorted([3, 1, 2])", [1, 2, 3]),
        ("any([false, 0, 1])", True),
        ("all([true, 1, 'x'])", True),
        ("lower(region)", "eu"),
        ("upper('abc')", "ABC"),
        ("strip(name)", "Alice"),
        ("startswith(region, 'E')", True),
        ("endswith(region, 'X')", False),
        ("contains(approvers, 'bob')", True),
        ("contains('hello', 'ell')", True),
        ("keys(x)", ["y"]),
        ("values(x)", [1]),
        ("get(x, 'y')", 1),
        ("get(x, 'z', 'none')", "none"),
        ("get(x, 'z')", None),
        ("get(approvers, 5, 'nobody')", "nobody"),
        ("get(nothing, 'a', 0)", 0),
        ("date('2026-03-01T23:30:00-02:00')", "2026-03-02"),
        ("datetime('2026-03-01T10:00:00')", "2026-03-01T10:00:00+00:00"),
        ("datetime(due)", "2026-03-01T10:00:00+00:00"),
        ("days_between('2026-01-01', '2026-03-01')", 59),
        ("coalesce(nothing, null, 'fallback')", "fallback"),
        ("coalesce(nothing)", None),
        # literals and aliases
        ("null", None),
        ("[true, false, None, True]", [True, False, None, True]),
        ("1e3", 1000.0),
    ],
)
def test_evaluates_normal_expressions(source: str, expected: Any) -> None:
    result = evaluate(source, VARIABLES)

    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("${amount > 1000 && approved}", True),
        ("${amount > 1000 && !approved}", False),
        ("#{rejected || amount != 1500}", False),
        ("${!rejected}", True),
        ("${ region == 'EU' }", True),
        ("${name == '&& || !'}", False),
        ("${approved && nothing == null}", True),
        ("${ {'a': 1}['a'] }", 1),
    ],
)
def test_accepts_camunda_syntax(source: str, expected: Any) -> None:
    assert evaluate(source, VARIABLES) == expected


def test_camunda_operators_are_only_translated_inside_a_wrapper() -> None:
    message = check("amount > 1000 && approved")

    assert message is not None
    assert "use 'and'/'or'" in message


def test_camunda_translation_keeps_string_contents() -> None:
    assert evaluate("${'a && b' + \"!\"}", {}) == "a && b!"


def test_camunda_translation_handles_escaped_quotes() -> None:
    source = "${note == 'it\\'s && done' && !rejected}"

    assert evaluate(source, {"note": "it's && done", "rejected": False}) is True


def test_not_hint_for_bare_exclamation_mark() -> None:
    assert check("!approved") == (
        "invalid expression: invalid syntax at column 1; use 'not' instead of '!' "
        "(or wrap Camunda syntax in ${...})"
    )


def test_brackets_inside_text_do_not_count_as_nesting() -> None:
    source = "note == '" + "(" * 50 + "'"

    assert check(source) is None
    assert evaluate(source, {"note": "(" * 50}) is True


def test_compiled_source_is_a_plain_str() -> None:
    class AttributeText(str):
        pass

    compiled = compile_expression(AttributeText("1 + 1"))

    assert type(compiled.source) is str
    assert evaluate(compiled, {}) == 2


def test_now_and_today_are_aware_utc_iso_text() -> None:
    now = dt.datetime.fromisoformat(evaluate("now()", {}))
    today = dt.date.fromisoformat(evaluate("today()", {}))

    assert now.utcoffset() == dt.timedelta(0)
    assert abs(now.date() - today) <= dt.timedelta(days=1)
    assert evaluate("days_between(today(), today())", {}) == 0


def test_compiled_expression_is_reusable_hashable_and_cached() -> None:
    compiled = compile_expression("amount * 2")

    assert isinstance(compiled, Expression)
    assert compiled.source == "amount * 2"
    assert compile_expression("amount * 2") is compiled
    assert {compiled: 1}[compile_expression("amount * 2")] == 1
    assert evaluate(compiled, {"amount": 2}) == 4
    assert evaluate(compiled, {"amount": "ab"}) == "abab"


def test_check_returns_none_or_the_message() -> None:
    assert check("amount > 1000") is None
    assert check("amount >") is not None
    assert check("a.b") == "attribute access (a.b) is not allowed; use a['b'] or get(a, 'b')"


def test_names_used_lists_variables_only() -> None:
    assert names_used("len(approvers) > n and x['y'] == null or true") == {"approvers", "n", "x"}
    assert names_used("${amount > 1000 && !approved}") == {"amount", "approved"}
    with pytest.raises(ExpressionError):
        names_used("a.b")


def test_error_carries_message_and_expression() -> None:
    with pytest.raises(ExpressionError) as caught:
        evaluate("amount + 1", {})

    assert caught.value.message == "unknown variable 'amount'"
    assert caught.value.expression == "amount + 1"
    assert str(caught.value) == "unknown variable 'amount'"


@pytest.mark.parametrize(
    ("source", "variables", "message"),
    [
        ("amount", {}, "unknown variable 'amount'"),
        ("1 / 0", {}, "division by zero"),
        ("1 // 0", {}, "division by zero"),
        ("1 % 0", {}, "division by zero"),
        ("0 ** -1", {}, "division by zero"),
        ("'a' < 1", {}, "cannot compare text with number"),
        ("n > 'a'", {"n": 1}, "cannot compare number with text"),
        ("[1] < (1,)", {}, "cannot compare a list with a tuple"),
        ("null < 1", {}, "cannot compare null with number"),
        ("'a' + 1", {}, "cannot apply + to text and number"),
        ("'%s' % x", {"x": 1}, "cannot apply % to text and number"),
        ("x['missing']", {"x": {}}, "key 'missing' not found"),
        ("x[5]", {"x": [1]}, "position 5 is out of range (length 1)"),
        ("x['a']", {"x": [1]}, "a list position must be a whole number, not text"),
        ("x[0]", {"x": 5}, "cannot take an item of number"),
        ("x[::0]", {"x": [1]}, "slice step cannot be zero"),
        ("1 in 'abc'", {}, "cannot look for number in text"),
        ("1 in 5", {}, "cannot look inside number with 'in'"),
        ("{[1]: 2}", {}, "a list cannot be a key of a mapping"),
        ("{[1]}", {}, "lists, sets and mappings cannot be items of a set"),
        ("int('1.5')", {}, "cannot convert '1.5' to a whole number"),
        ("float('nan')", {}, "cannot convert 'nan' to a number"),
        ("max([])", {}, "max() of an empty list"),
        ("sorted([1, 'a'])", {}, "sorted() cannot compare number with text"),
        ("sum(['a'])", {}, "sum() needs a list of numbers, found text"),
        ("lower(1)", {}, "lower() needs text, not number"),
        ("date('tomorrow')", {}, "date() cannot read 'tomorrow' as an ISO-8601 date"),
        ("1 is 1", {}, "'is' only compares with null, true or false; use == instead"),
        ("-'a'", {}, "cannot apply - to text"),
        (
            "len()",
            {},
            "len() called with 0 argument(s); usage: len(x): number of characters, items or keys",
        ),
        ("(-8) ** 0.5", {}, "the result is not a real number"),
        ("1e300 ** 2", {}, "number too large"),
        ("1e308 * 10", {}, "number too large"),
        ("", {}, "expression is empty"),
        ("${}", {}, "expression is empty"),
    ],
)
def test_clean_errors_for_ordinary_mistakes(
    source: str, variables: dict[str, Any], message: str
) -> None:
    with pytest.raises(ExpressionError) as caught:
        evaluate(source, variables)

    assert caught.value.message == message


def test_rejects_non_text_source() -> None:
    with pytest.raises(ExpressionError, match="an expression must be text, not int"):
        compile_expression(5)  # type: ignore[arg-type]
    assert check(None) == "an expression must be text, not NoneType"  # type: ignore[arg-type]


def test_unhelpful_variable_objects_still_give_expression_errors() -> None:
    class Hostile:
        def __bool__(self) -> bool:
            raise RuntimeError("boom")

    with pytest.raises(ExpressionError, match="could not evaluate: RuntimeError: boom"):
        evaluate("not h", {"h": Hostile()})


def test_deeply_nested_variable_comparison_is_a_clean_error() -> None:
    deep: list[Any] = []
    for _ in range(100_000):
        deep = [deep]

    with pytest.raises(ExpressionError, match="nested too deeply"):
        evaluate("a == b", {"a": deep, "b": deep[0]})


# --------------------------------------------------------------------------------------------
# Escape and resource-exhaustion corpus
# --------------------------------------------------------------------------------------------

ESCAPES: list[tuple[str, str]] = [
    ("__import__('os').system('id')", "attribute access (a.b) is not allowed"),
    ("__import__('os')", "names starting with '_' are not allowed"),
    ("().__class__.__bases__[0].__subclasses__()", "attribute access (a.b) is not allowed"),
    ("open('/etc/passwd').read()", "attribute access (a.b) is not allowed"),
    ("open('/etc/passwd')", "unknown function 'open'"),
    ("getattr(x, 'y')", "unknown function 'getattr'"),
    ("globals()", "unknown function 'globals'"),
    ("vars()", "unknown function 'vars'"),
    ("locals()", "unknown function 'locals'"),
    ("eval('1')", "unknown function 'eval'"),
    ("exec('1')", "unknown function 'exec'"),
    ("compile('1','','eval')", "unknown function 'compile'"),
    ("lambda: 1", "lambda is not allowed"),
    ("[x for x in range(10)]", "comprehensions are not allowed"),
    ("{x: 1 for x in y}", "comprehensions are not allowed"),
    ("sum(x for x in y)", "generator expressions are not allowed"),
    ("(y := 1)", "assignment (:=) is not allowed"),
    ("x.__dict__", "attribute access (a.b) is not allowed"),
    ("a.b", "attribute access (a.b) is not allowed"),
    ("type(x)", "unknown function 'type'"),
    ("__builtins__", "names starting with '_' are not allowed"),
    ("_secret", "names starting with '_' are not allowed"),
    ("__builtins__['eval']('1')", "only the built-in functions can be called"),
    ("f'{x}'", "f-strings are not allowed"),
    ("f'{x!r:>{10**9}}'", "f-strings are not allowed"),
    ("await x", "await is not allowed"),
    ("yield 1", "invalid expression"),
    ("*a", "invalid expression"),
    ("[*a]", "unpacking with * is not allowed"),
    ("{**a}", "unpacking with ** is not allowed"),
    ("print(1)", "unknown function 'print'"),
    ("range(10**9)", "unknown function 'range'"),
    ("sorted(x, key=len)", "sorted() does not take named arguments"),
    ("max(x, default=__import__)", "max() does not take named arguments"),
    ("len(*a)", "unpacking with * is not allowed"),
    ("\uff3f\uff3fclass\uff3f\uff3f", "invalid expression"),
    ("__\uff43\uff4c\uff41\uff53\uff53__", "names starting with '_' are not allowed"),
    ("\uff4f\uff50\uff45\uff4e('/etc/passwd')", "unknown function 'open'"),
    ("\\u005f\\u005fclass\\u005f\\u005f", "invalid expression"),
    ("x[\\u005f]", "invalid expression"),
    ("b'abc'", "bytes literals are not allowed"),
    ("1j", "complex literals are not allowed"),
    ("...", "ellipsis literals are not allowed"),
    ("~1", "the ~ operator is not allowed"),
    ("1 << 10000", "bitwise operators and @ are not allowed"),
    ("1 @ 2", "bitwise operators and @ are not allowed"),
    ("x = 1", "invalid expression"),
    ("import os", "invalid expression"),
    ("1; 2", "invalid expression"),
    ("1e999", "number too large"),
    ("1" + "0" * 1000, "number too large (the limit is 2**256)"),
    ("1" + "0" * 5000, "expression is too long (5,001 characters; the limit is 2,000)"),
    ("'" + "a" * 100_000 + "'", "expression is too long (100,002 characters; the limit is 2,000)"),
    ("(" * 10_000 + "1" + ")" * 10_000, "expression is too long"),
    ("(" * 500 + "1" + ")" * 500, "nested too deeply"),
    ("[" * 500 + "]" * 500, "nested too deeply"),
    ("[" * 40 + "]" * 40, "nested too deeply"),
    ("-" * 1500 + "1", "nested too deeply"),
    ("not " * 400 + "x", "nested too deeply"),
    ("+".join(["1"] * 400), "nested too deeply"),
    ("max(" + ",".join(["1"] * 400) + ")", "expression is too complex (more than 300 parts)"),
    ("[" + ",".join(["1"] * 400) + "]", "expression is too complex (more than 300 parts)"),
    ("\x00", "invalid expression"),
]

EXHAUSTION: list[tuple[str, str]] = [
    ("9**9**9", "exponent too large (the limit is 64)"),
    ("2**100000", "exponent too large (the limit is 64)"),
    ("2**64**2", "exponent too large (the limit is 64)"),
    ("(2**64)**5", "number too large (the limit is 2**256)"),
    ("(2**60)**60", "number too large (the limit is 2**256)"),
    ("huge * 4", "number too large (the limit is 2**256)"),
    ("-huge * 4", "number too large (the limit is 2**256)"),
    ("huge + huge + huge", "number too large (the limit is 2**256)"),
    ("'a'*10**9", "this would create a text of 1,000,000,000 characters (the limit is 10,000)"),
    ("[1]*10**8", "this would create a list of 100,000,000 items (the limit is 10,000)"),
    ("'a'*1000*1000", "this would create a text of 1,000,000 characters (the limit is 10,000)"),
    ("[[1]*10000]*10000", "the list would be too large"),
    ("[[1]*5000]*20", "the list would be too large"),
    ("['a'*10000]*11", "the list would be too large"),
    ("[big, big]", "the list would be too large"),
    ("big + [1]", "this would create a list of 50,001 items (the limit is 10,000)"),
    ("s + s", "this would create a text of 20,000 characters (the limit is 10,000)"),
    ("str([s] * 11)", "the list would be too large"),
    ("int('9' * 500)", "int() text is too long to be a number"),
    ("int(1e300)", "number too large (the limit is 2**256)"),
    ("round(1e300)", "number too large (the limit is 2**256)"),
    ("round(5, -10**9)", "round() digits must be between -64 and 64"),
    ("sum([huge, huge, huge])", "number too large (the limit is 2**256)"),
]


@pytest.mark.parametrize(("source", "message"), ESCAPES + EXHAUSTION)
def test_hostile_payloads_are_rejected_cleanly(source: str, message: str) -> None:
    variables = {
        "x": {"y": 1},
        "y": [1],
        "a": [1, 2],
        "big": list(range(50_000)),
        "s": "s" * 10_000,
        "huge": 2**255,
    }

    with pytest.raises(ExpressionError) as caught:
        evaluate(source, variables)

    assert message in caught.value.message
    assert caught.value.expression == source


def test_corpus_is_large_enough() -> None:
    assert len(ESCAPES) + len(EXHAUSTION) >= 35


@pytest.mark.parametrize(("source", "message"), ESCAPES)
def test_escape_payloads_are_rejected_at_deploy(source: str, message: str) -> None:
    problem = check(source)

    assert problem is not None
    assert message in problem


def test_limits_are_the_documented_ones() -> None:
    assert expressions.MAX_SOURCE_LENGTH == 2_000
    assert expressions.MAX_AST_NODES == 300
    assert expressions.MAX_DEPTH == 32
    assert expressions.MAX_INT == 2**256
    assert expressions.MAX_POWER_EXPONENT == 64
    assert expressions.MAX_SEQUENCE == 10_000


def test_values_at_the_limits_are_allowed() -> None:
    assert len(evaluate("'a' * 10000", {})) == 10_000
    assert len(evaluate("[0] * 10000", {})) == 10_000
    assert evaluate("(2 ** 64) ** 4", {}) == 2**256
    assert evaluate("-((2 ** 64) ** 4)", {}) == -(2**256)
    assert evaluate("2 ** 64", {}) == 2**64
    assert len(evaluate("str(big)", {"big": list(range(50_000))})) == 338_890
    assert evaluate("(" * 30 + "1" + ")" * 30, {}) == 1
    assert evaluate("[" * 30 + "]" * 30, {}) == [
        [[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]
    ]


def test_work_budget_stops_expressions_that_walk_large_values_too_often() -> None:
    source = "[" + ", ".join(["sum(big)"] * 60) + "]"

    with pytest.raises(ExpressionError) as caught:
        evaluate(source, {"big": list(range(50_000))})

    assert caught.value.message == (
        "expression does too much work (more than 2,000,000 steps over its values)"
    )


def test_work_budget_leaves_ordinary_use_of_large_values_alone() -> None:
    big = list(range(50_000))

    assert evaluate("sum(big) > 1000 and len(big) == 50000 and max(big) == 49999", {"big": big})
    assert evaluate("sorted(big)[-1]", {"big": big}) == 49_999


def test_sizes_are_measured_once_per_value() -> None:
    # 45 walks of a 50,000-item list would exceed the work budget; measured once, the size
    # limit is what stops it.
    source = "[" + ", ".join(["[big]"] * 45) + "]"

    with pytest.raises(ExpressionError) as caught:
        evaluate(source, {"big": list(range(50_000))})

    assert caught.value.message == (
        "the list would be too large (the limit is 100,000 items and characters)"
    )


def test_self_containing_variable_does_not_hang() -> None:
    loop: list[Any] = [1]
    loop.append(loop)

    with pytest.raises(ExpressionError) as caught:
        evaluate("str(loop)", {"loop": loop})

    assert caught.value.message == (
        "the text would be too large (the limit is 100,000 items and characters)"
    )
    assert evaluate("len(loop)", {"loop": loop}) == 2


def test_deeply_nested_variable_is_measured_without_recursion() -> None:
    deep: list[Any] = []
    for _ in range(200_000):
        deep = [deep]

    with pytest.raises(ExpressionError) as caught:
        evaluate("[deep]", {"deep": deep})

    assert caught.value.message == (
        "the list would be too large (the limit is 100,000 items and characters)"
    )


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("[1] < ['a']", "cannot compare list with list: their items differ in type"),
        ("{} < {}", "cannot compare mapping with mapping"),
        ("null < null", "cannot compare null with null"),
        ("'2026-01-01' < 5", "cannot compare text with number"),
        (
            "days_between('0001-01-01T00:00:00+14:00', '2020-01-01')",
            "days_between() date '0001-01-01T00:00:00+14:00' is out of range",
        ),
        ("sum([1, 'a'])", "sum() needs a list of numbers, found text"),
        ("sum([[1]])", "sum() needs a list of numbers, found list"),
        ("round(1.5, 'a')", "round() needs a whole number of digits, not text"),
        ("get(5, 'a')", "get() needs a mapping or a list, not number"),
        ("get([1], 'a')", "get() on a list needs a whole-number position, not text"),
        ("x[1:2]", "cannot slice mapping"),
        ("'abc'[1.5]", "a text position must be a whole number, not number"),
        ("[1][0:'a']", "slice bounds must be whole numbers, not text"),
        ("'ab' * 1.5", "a text can only be repeated a whole number of times"),
        ("{1} - {2}", "cannot apply - to set and set"),
        ("keys([1])", "keys() needs a mapping, not list"),
        ("len(5)", "len() needs text, a list or a mapping, not number"),
        ("any(5)", "any() needs a list, not number"),
        (
            "min()",
            "min() called with 0 argument(s); usage: min(list) or min(a, b, ...): smallest value",
        ),
        (
            "now(1)",
            "now() called with 1 argument(s); usage: now(): current UTC time as ISO-8601 text",
        ),
        ("foo(1)", "unknown function 'foo'; allowed: " + ", ".join(sorted(expressions.FUNCTIONS))),
    ],
)
def test_more_clean_errors(source: str, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        evaluate(source, {"x": {"a": 1}})

    assert caught.value.message == message


# --------------------------------------------------------------------------------------------
# Property: nothing but ExpressionError ever escapes
# --------------------------------------------------------------------------------------------

_TOKENS = st.sampled_from(
    [
        "x",
        "y",
        "amount",
        "_",
        "__class__",
        "len",
        "max",
        "get",
        "str",
        "int",
        "round",
        "sorted",
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        ",",
        ":",
        ".",
        "+",
        "-",
        "*",
        "/",
        "//",
        "%",
        "**",
        "<",
        ">",
        "==",
        "!=",
        " in ",
        " not ",
        " and ",
        " or ",
        " if ",
        " else ",
        "!",
        "&&",
        "||",
        "${",
        "#{",
        "1",
        "0",
        "9",
        "10**9",
        "2.5",
        "1e308",
        "'a'",
        '"b"',
        "true",
        "null",
        " ",
        "lambda",
        "=",
        ":=",
        "@",
        "f'",
        "\\",
        "\n",
        "é",
        "\x00",
    ]
)


@pytest.mark.filterwarnings("ignore::SyntaxWarning")
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_random_text_only_raises_expression_error(source: str) -> None:
    _evaluate_without_surprises(source)


@pytest.mark.filterwarnings("ignore::SyntaxWarning")
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_TOKENS, max_size=40).map("".join))
def test_random_token_soup_only_raises_expression_error(source: str) -> None:
    _evaluate_without_surprises(source)


def _evaluate_without_surprises(source: str) -> None:
    variables = {"x": [1, "a", None, {"k": [2.5]}], "y": {"a": 1}, "amount": 10}
    try:
        evaluate(source, variables)
    except ExpressionError as error:
        assert error.message
    message = check(source)
    assert message is None or isinstance(message, str)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=5), inner, max_size=5)
    ),
    max_leaves=20,
)


@pytest.mark.filterwarnings("ignore::SyntaxWarning")
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_TOKENS, max_size=30).map("".join), _JSON, _JSON)
def test_random_expressions_over_random_data_only_raise_expression_error(
    source: str, x: Any, y: Any
) -> None:
    try:
        evaluate(source, {"x": x, "y": y, "amount": x})
    except ExpressionError as error:
        assert error.message
