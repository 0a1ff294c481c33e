"""Checking a syntax tree against the whitelist; compiled expressions, cached by text."""

from __future__ import annotations

import ast
import functools
import math
from dataclasses import dataclass, field
from typing import Any

from .bounds import MAX_AST_NODES, MAX_DEPTH, MAX_INT
from .errors import ExpressionError, Fail
from .functions import FUNCTIONS
from .syntax import parse

ALIASES: dict[str, Any] = {"true": True, "false": False, "null": None}


@dataclass(frozen=True)
class Expression:
    """A checked expression, ready to evaluate any number of times."""

    source: str
    #: The Python-subset text actually parsed (after the Camunda wrapper/operators are translated).
    text: str = field(compare=False)
    tree: ast.expr = field(compare=False, repr=False)
    names: frozenset[str] = field(compare=False)


BIN_OPS: dict[type[ast.operator], str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
}

_CMP_OPS: tuple[type[ast.cmpop], ...] = (
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.In,
    ast.NotIn,
    ast.Is,
    ast.IsNot,
)

_FORBIDDEN: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access (a.b) is not allowed; use a['b'] or get(a, 'b')",
    ast.Lambda: "lambda is not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "generator expressions are not allowed",
    ast.NamedExpr: "assignment (:=) is not allowed",
    ast.JoinedStr: "f-strings are not allowed; join text with + and str()",
    ast.FormattedValue: "f-strings are not allowed; join text with + and str()",
    ast.Starred: "unpacking with * is not allowed",
    ast.Await: "await is not allowed",
    ast.Yield: "yield is not allowed",
    ast.YieldFrom: "yield is not allowed",
}


def _validate(tree: ast.expr) -> frozenset[str]:
    """Check every node against the whitelist; return the variable names used."""
    names: set[str] = set()
    count = 0
    stack: list[tuple[ast.AST, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, ast.expr_context | ast.operator | ast.cmpop | ast.boolop):
            continue
        if isinstance(node, ast.unaryop):
            continue
        count += 1
        if count > MAX_AST_NODES:
            raise Fail(f"expression is too complex (more than {MAX_AST_NODES} parts)")
        if depth > MAX_DEPTH:
            raise Fail(f"expression is nested too deeply (the limit is {MAX_DEPTH} levels)")
        _validate_node(node, names)
        for child in ast.iter_child_nodes(node):
            if isinstance(node, ast.Call) and child is node.func:
                continue
            stack.append((child, depth + 1))
    return frozenset(names)


def _validate_node(node: ast.AST, names: set[str]) -> None:
    forbidden = _FORBIDDEN.get(type(node))
    if forbidden:
        raise Fail(forbidden)
    if isinstance(node, ast.Constant):
        _validate_constant(node.value)
    elif isinstance(node, ast.Name):
        _validate_name(node.id)
        if node.id not in ALIASES:
            names.add(node.id)
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in BIN_OPS:
            raise Fail("bitwise operators and @ are not allowed")
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, ast.Not | ast.USub | ast.UAdd):
            raise Fail("the ~ operator is not allowed")
    elif isinstance(node, ast.Compare):
        for op in node.ops:
            if not isinstance(op, _CMP_OPS):  # pragma: no cover - all Python comparisons listed
                raise Fail("this comparison is not allowed")
    elif isinstance(node, ast.Dict):
        if any(key is None for key in node.keys):
            raise Fail("unpacking with ** is not allowed")
    elif isinstance(node, ast.Call):
        _validate_call(node)
    elif not isinstance(
        node,
        ast.BoolOp | ast.IfExp | ast.List | ast.Tuple | ast.Set | ast.Subscript | ast.Slice,
    ):
        raise Fail(f"{type(node).__name__} is not allowed in an expression")


def _validate_constant(value: Any) -> None:
    if value is None or isinstance(value, bool | str):
        return
    if isinstance(value, int):
        if abs(value) > MAX_INT:
            raise Fail("number too large (the limit is 2**256)")
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise Fail("number too large")
        return
    raise Fail(f"{type(value).__name__} literals are not allowed")


def _validate_name(name: str) -> None:
    if name.startswith("_"):
        raise Fail(f"names starting with '_' are not allowed ({name!r})")


def _validate_call(node: ast.Call) -> None:
    if isinstance(node.func, ast.Attribute):
        raise Fail(_FORBIDDEN[ast.Attribute])
    if not isinstance(node.func, ast.Name):
        raise Fail("only the built-in functions can be called, by name (e.g. len(x))")
    name = node.func.id
    _validate_name(name)
    function = FUNCTIONS.get(name)
    if function is None:
        raise Fail(f"unknown function '{name}'; allowed: {', '.join(sorted(FUNCTIONS))}")
    if node.keywords:
        raise Fail(f"{name}() does not take named arguments ({function.usage})")
    count = len(node.args)
    if count < function.min_args or (function.max_args is not None and count > function.max_args):
        raise Fail(f"{name}() called with {count} argument(s); usage: {function.usage}")


@functools.lru_cache(maxsize=1024)
def _compile_cached(source: str) -> Expression:
    try:
        text, tree = parse(source)
        names = _validate(tree)
    except Fail as error:
        raise ExpressionError(error.message, source) from None
    except (RecursionError, MemoryError):
        raise ExpressionError("expression is too deeply nested or too complex", source) from None
    return Expression(source=source, text=text, tree=tree, names=names)


def compile_expression(source: str) -> Expression:
    """Parse and check ``source``; raise :class:`ExpressionError` with a readable message.

    Results are cached by text, so checking at deploy and evaluating later parse once.
    """
    if not isinstance(source, str):
        raise ExpressionError(
            f"an expression must be text, not {type(source).__name__}", repr(source)[:100]
        )
    # A str subclass (lxml's attribute results) may keep a whole XML tree alive in the cache.
    return _compile_cached(str.__str__(source))


def check(source: str) -> str | None:
    """The problem with ``source`` as a person-readable message, or ``None`` if it is fine."""
    try:
        compile_expression(source)
    except ExpressionError as error:
        return error.message
    return None


def names_used(source: str) -> set[str]:
    """Variable names ``source`` reads (not functions, not true/false/null).

    Raises :class:`ExpressionError` if ``source`` does not compile.
    """
    return set(compile_expression(source).names)
