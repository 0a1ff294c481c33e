"""Size bounds: the limits, and the per-evaluation work budget that keeps every value small."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from typing import Any

from .errors import Fail

MAX_SOURCE_LENGTH = 2_000
MAX_AST_NODES = 300
MAX_DEPTH = 32
MAX_INT = 2**256
MAX_POWER_EXPONENT = 64
MAX_SEQUENCE = 10_000
#: Upper bound on the total nested size (items plus characters) of a value the expression builds.
MAX_WEIGHT = 100_000
MAX_NUMBER_TEXT = 100
MAX_ROUND_DIGITS = 64
#: Upper bound on items walked by built-in operations in one evaluation (see ``Budget``).
MAX_WORK = 2_000_000
_END = object()


def checked_number(value: Any) -> Any:
    """Keep numbers inside the allowed range; other values pass through."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if -MAX_INT <= value <= MAX_INT:
            return value
        raise Fail("number too large (the limit is 2**256)")
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        if math.isnan(value):
            raise Fail("the result is not a number")
        raise Fail("number too large")
    if isinstance(value, complex):
        raise Fail("the result is not a real number")
    return value


class Budget:
    """Per-evaluation bookkeeping: a work budget and remembered value sizes.

    ``work`` counts items the built-in operations walk (iterating, sorting, searching, copying,
    converting to text), so an expression over a large variable cannot run for long however it
    is written. ``weights`` remembers sizes by id (keeping the value alive so the id cannot be
    reused); without it ``[[big], [big], ...]`` would walk the same variable once per mention.
    """

    __slots__ = ("weights", "work")

    def __init__(self) -> None:
        self.work = 0
        self.weights: dict[int, tuple[Any, int]] = {}

    def charge(self, units: int) -> None:
        self.work += units
        if self.work > MAX_WORK:
            raise Fail(
                f"expression does too much work (more than {MAX_WORK:,} steps over its values)"
            )


BUDGET: ContextVar[Budget | None] = ContextVar("flowgate_expression_budget", default=None)


def _budget() -> Budget:
    budget = BUDGET.get()
    return budget if budget is not None else Budget()


def charge(units: int) -> None:
    _budget().charge(units)


def children_of(value: Any) -> Iterator[Any] | None:
    if isinstance(value, list | tuple | set | frozenset):
        return iter(value)
    if isinstance(value, Mapping):
        return itertools.chain.from_iterable(value.items())
    return None


def weight_of(value: Any, limit: int = MAX_WEIGHT) -> int:
    """Total nested size of a value (1 per item or container, 1 per character).

    Counting stops at ``limit + 1``, so a huge or self-containing value costs at most ``limit``
    steps; sizes of containers are remembered for the rest of the evaluation.
    """
    if isinstance(value, str):
        return max(len(value), 1)
    root = children_of(value)
    if root is None:
        return 1
    budget = _budget()
    memo = budget.weights
    known = memo.get(id(value))
    if known is not None:
        return known[1]
    seen = 1
    steps = 1  # items actually walked (remembered sizes are added to ``seen`` without walking)
    # Each frame: the container, an iterator over its children, ``seen`` before it was entered.
    frames: list[tuple[Any, Iterator[Any], int]] = [(value, root, 0)]
    while frames:
        container, children, start = frames[-1]
        child = next(children, _END)
        steps += 1
        if child is _END:
            frames.pop()
            memo[id(container)] = (container, seen - start)
            continue
        if isinstance(child, str):
            seen += max(len(child), 1)
        else:
            grandchildren = children_of(child)
            if grandchildren is None:
                seen += 1
            else:
                known = memo.get(id(child))
                if known is not None:
                    seen += known[1]
                else:
                    frames.append((child, grandchildren, seen))
                    seen += 1
        if seen > limit:
            memo[id(value)] = (value, limit + 1)
            budget.charge(steps)
            return limit + 1
    budget.charge(steps)
    return seen


def check_weight(weight: int, what: str) -> None:
    if weight > MAX_WEIGHT:
        raise Fail(f"{what} would be too large (the limit is {MAX_WEIGHT:,} items and characters)")


def check_length(length: int, kind: str) -> None:
    if length > MAX_SEQUENCE:
        unit = "characters" if kind == "text" else "items"
        raise Fail(
            f"this would create a {kind} of {length:,} {unit} (the limit is {MAX_SEQUENCE:,})"
        )
