"""Walking a checked expression against variables: operators, items, slices and calls."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any

from .bounds import (
    BUDGET,
    MAX_POWER_EXPONENT,
    Budget,
    charge,
    check_length,
    check_weight,
    checked_number,
    children_of,
    weight_of,
)
from .compiler import ALIASES, BIN_OPS, Expression, compile_expression
from .errors import ExpressionError, Fail, is_numeric, kind_of, short
from .functions import FUNCTIONS, contains


def evaluate(source_or_compiled: str | Expression, variables: Mapping[str, Any]) -> Any:
    """Evaluate an expression against ``variables``; only ever raises :class:`ExpressionError`."""
    if isinstance(source_or_compiled, Expression):
        expression = source_or_compiled
    else:
        expression = compile_expression(source_or_compiled)
    token = BUDGET.set(Budget())
    try:
        return _Evaluator(variables).run(expression.tree)
    except Fail as error:
        raise ExpressionError(error.message, expression.source) from None
    except ExpressionError:
        raise
    except RecursionError:
        raise ExpressionError(
            "a value is nested too deeply to evaluate", expression.source
        ) from None
    except MemoryError:
        raise ExpressionError("evaluation ran out of memory", expression.source) from None
    except Exception as error:  # the contract: only ExpressionError escapes
        raise ExpressionError(
            f"could not evaluate: {type(error).__name__}: {short(error)}", expression.source
        ) from None
    finally:
        BUDGET.reset(token)


def _charge_comparison(left: Any, right: Any) -> None:
    """Comparing texts or containers walks them; charge for it."""
    if isinstance(left, str) and isinstance(right, str):
        charge(min(len(left), len(right)))
    elif children_of(left) is not None and children_of(right) is not None:
        weight_of(left)
        weight_of(right)


def _compare(op: ast.cmpop, left: Any, right: Any) -> bool:
    _charge_comparison(left, right)
    if isinstance(op, ast.Eq):
        return bool(left == right)
    if isinstance(op, ast.NotEq):
        return bool(left != right)
    if isinstance(op, ast.In):
        return contains(right, left)
    if isinstance(op, ast.NotIn):
        return not contains(right, left)
    if isinstance(op, ast.Is | ast.IsNot):
        if not (left is None or right is None or isinstance(left, bool) or isinstance(right, bool)):
            raise Fail("'is' only compares with null, true or false; use == instead")
        same = left is right
        return same if isinstance(op, ast.Is) else not same
    if is_numeric(left) and is_numeric(right):
        pass
    elif kind_of(left) != kind_of(right):
        raise Fail(f"cannot compare {kind_of(left)} with {kind_of(right)}")
    elif isinstance(left, list) != isinstance(right, list):
        raise Fail("cannot compare a list with a tuple")
    try:
        if isinstance(op, ast.Lt):
            return bool(left < right)
        if isinstance(op, ast.LtE):
            return bool(left <= right)
        if isinstance(op, ast.Gt):
            return bool(left > right)
        return bool(left >= right)
    except TypeError:
        detail = ": their items differ in type" if isinstance(left, list | tuple) else ""
        raise Fail(f"cannot compare {kind_of(left)} with {kind_of(right)}{detail}") from None


def _repeat(sequence: Any, times: Any) -> Any:
    if isinstance(times, bool) or not isinstance(times, int):
        raise Fail(f"a {kind_of(sequence)} can only be repeated a whole number of times")
    count = max(times, 0)
    kind = "text" if isinstance(sequence, str) else "list"
    check_length(len(sequence) * count, kind)
    if not isinstance(sequence, str):
        check_weight(weight_of(sequence) * count, "the list")
    return sequence * count


def _concat(left: Any, right: Any) -> Any:
    kind = "text" if isinstance(left, str) else "list"
    check_length(len(left) + len(right), kind)
    if not isinstance(left, str):
        check_weight(weight_of(left) + weight_of(right), "the list")
    return left + right


def _power(base: Any, exponent: Any) -> Any:
    if abs(exponent) > MAX_POWER_EXPONENT:
        raise Fail(f"exponent too large (the limit is {MAX_POWER_EXPONENT})")
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0:
        if abs(base) > 1 and (abs(base).bit_length() - 1) * exponent > 256:
            raise Fail("number too large (the limit is 2**256)")
    return base**exponent


def _arithmetic(op: ast.operator, left: Any, right: Any) -> Any:
    symbol = BIN_OPS[type(op)]
    if is_numeric(left) and is_numeric(right):
        try:
            if symbol == "+":
                result = left + right
            elif symbol == "-":
                result = left - right
            elif symbol == "*":
                result = left * right
            elif symbol == "/":
                result = left / right
            elif symbol == "//":
                result = left // right
            elif symbol == "%":
                result = left % right
            else:
                result = _power(left, right)
        except ZeroDivisionError:
            raise Fail("division by zero") from None
        except OverflowError:
            raise Fail("number too large") from None
        return checked_number(result)
    if symbol == "+":
        if isinstance(left, str) and isinstance(right, str):
            return _concat(left, right)
        if isinstance(left, list) and isinstance(right, list):
            return _concat(left, right)
        if isinstance(left, tuple) and isinstance(right, tuple):
            return _concat(left, right)
    if symbol == "*":
        if isinstance(left, str | list | tuple) and is_numeric(right):
            return _repeat(left, right)
        if isinstance(right, str | list | tuple) and is_numeric(left):
            return _repeat(right, left)
    raise Fail(f"cannot apply {symbol} to {kind_of(left)} and {kind_of(right)}")


def _index(value: Any, key: Any) -> Any:
    if isinstance(value, Mapping):
        try:
            return value[key]
        except KeyError:
            raise Fail(f"key {short(key)} not found") from None
        except TypeError:
            raise Fail(f"a {kind_of(key)} cannot be a key of a mapping") from None
    if isinstance(value, str | list | tuple):
        if isinstance(key, bool) or not isinstance(key, int):
            raise Fail(f"a {kind_of(value)} position must be a whole number, not {kind_of(key)}")
        try:
            return value[key]
        except IndexError:
            raise Fail(f"position {key} is out of range (length {len(value)})") from None
    raise Fail(f"cannot take an item of {kind_of(value)}")


def _slice_bound(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise Fail(f"slice bounds must be whole numbers, not {kind_of(value)}")
    return value


class _Evaluator:
    def __init__(self, variables: Mapping[str, Any]) -> None:
        self.variables = variables

    def run(self, node: ast.expr) -> Any:
        return self.visit(node)

    def visit(self, node: ast.expr) -> Any:
        method = getattr(self, "visit_" + type(node).__name__, None)
        if method is None:  # pragma: no cover - _validate rejects unknown nodes first
            raise Fail(f"{type(node).__name__} is not allowed in an expression")
        return method(node)

    def visit_Constant(self, node: ast.Constant) -> Any:
        return node.value

    def visit_Name(self, node: ast.Name) -> Any:
        if node.id in ALIASES:
            return ALIASES[node.id]
        try:
            return self.variables[node.id]
        except KeyError:
            raise Fail(f"unknown variable '{node.id}'") from None

    def visit_List(self, node: ast.List) -> list[Any]:
        items = [self.visit(item) for item in node.elts]
        check_weight(weight_of(items), "the list")
        return items

    def visit_Tuple(self, node: ast.Tuple) -> tuple[Any, ...]:
        items = tuple(self.visit(item) for item in node.elts)
        check_weight(weight_of(items), "the list")
        return items

    def visit_Set(self, node: ast.Set) -> set[Any]:
        items = [self.visit(item) for item in node.elts]
        check_weight(weight_of(items), "the set")
        try:
            return set(items)
        except TypeError:
            raise Fail("lists, sets and mappings cannot be items of a set") from None

    def visit_Dict(self, node: ast.Dict) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        for key_node, value_node in zip(node.keys, node.values, strict=True):
            assert key_node is not None  # noqa: S101 - _validate rejects ** unpacking
            key = self.visit(key_node)
            value = self.visit(value_node)
            try:
                result[key] = value
            except TypeError:
                raise Fail(f"a {kind_of(key)} cannot be a key of a mapping") from None
        check_weight(weight_of(result), "the mapping")
        return result

    def visit_BoolOp(self, node: ast.BoolOp) -> Any:
        is_and = isinstance(node.op, ast.And)
        value: Any = None
        for operand in node.values:
            value = self.visit(operand)
            if bool(value) != is_and:
                return value
        return value

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Any:
        operand = self.visit(node.operand)
        if isinstance(node.op, ast.Not):
            return not operand
        if not is_numeric(operand):
            sign = "-" if isinstance(node.op, ast.USub) else "+"
            raise Fail(f"cannot apply {sign} to {kind_of(operand)}")
        return checked_number(-operand if isinstance(node.op, ast.USub) else +operand)

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        left = self.visit(node.left)
        right = self.visit(node.right)
        return _arithmetic(node.op, left, right)

    def visit_Compare(self, node: ast.Compare) -> bool:
        left = self.visit(node.left)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = self.visit(right_node)
            if not _compare(op, left, right):
                return False
            left = right
        return True

    def visit_IfExp(self, node: ast.IfExp) -> Any:
        return self.visit(node.body) if self.visit(node.test) else self.visit(node.orelse)

    def visit_Subscript(self, node: ast.Subscript) -> Any:
        value = self.visit(node.value)
        if isinstance(node.slice, ast.Slice):
            if not isinstance(value, str | list | tuple):
                raise Fail(f"cannot slice {kind_of(value)}")
            lower = _slice_bound(self.visit(node.slice.lower) if node.slice.lower else None)
            upper = _slice_bound(self.visit(node.slice.upper) if node.slice.upper else None)
            step = _slice_bound(self.visit(node.slice.step) if node.slice.step else None)
            if step == 0:
                raise Fail("slice step cannot be zero")
            result = value[lower:upper:step]
            charge(len(result))
            return result
        return _index(value, self.visit(node.slice))

    def visit_Call(self, node: ast.Call) -> Any:
        assert isinstance(node.func, ast.Name)  # noqa: S101 - _validate guarantees it
        function = FUNCTIONS[node.func.id]
        args = [self.visit(arg) for arg in node.args]
        return checked_number(function.impl(*args))
