"""Deploy-time bounds (decision 022): refuse what is known to run without end or to exhaust the
engine before it runs, and parse long processes without Python's recursion limit.

* a call activity that calls its own process, directly or through other processes;
* a multi-instance whose literal count is above ``EngineLimits.max_multi_instance``;
* a process with more flow nodes than ``EngineLimits.max_flow_nodes``;
* ``parse_deep()``: Spiff's parser follows sequence flows recursively (about two Python frames
  per element), so a linear process of ~460 steps hit ``RecursionError``. Large processes are
  parsed in a thread of their own with a large stack and a recursion limit sized to the process
  (restored afterwards); the flow-node limit bounds both.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from .expressions import ExpressionError, evaluate
from .limits import EngineLimits
from .parser import NSMAP

T = TypeVar("T")
Problem = tuple[str | None, str, str]

FLOW_NODE_TAGS = (
    "startEvent endEvent intermediateCatchEvent intermediateThrowEvent boundaryEvent task "
    "userTask manualTask serviceTask sendTask receiveTask scriptTask businessRuleTask "
    "exclusiveGateway inclusiveGateway parallelGateway eventBasedGateway complexGateway "
    "subProcess callActivity transaction adHocSubProcess"
).split()
_FLOW_NODE_XPATH = " | ".join(f".//bpmn:{tag}" for tag in FLOW_NODE_TAGS)

#: Parses of processes up to this many flow nodes run inline under the default recursion limit.
INLINE_PARSE_NODES = 200
#: Python frames the parser needs per flow node (measured: about 2; kept generous).
FRAMES_PER_NODE = 6
PARSE_STACK_BYTES = 256 * 1024 * 1024
_parse_lock = threading.Lock()


def flow_node_count(process: Any) -> int:
    return len(process.xpath(_FLOW_NODE_XPATH, namespaces=NSMAP))


def size_problems(root: Any, limits: EngineLimits) -> list[Problem]:
    problems: list[Problem] = []
    for process in root.xpath("./bpmn:process", namespaces=NSMAP):
        count = flow_node_count(process)
        if count > limits.max_flow_nodes:
            problems.append(
                (
                    process.get("id"),
                    "process_too_large",
                    f"This process has {count:,} elements; one process may have at most "
                    f"{limits.max_flow_nodes:,}. Split it into processes that call each other "
                    "(call activities).",
                )
            )
    return problems


def cardinality_problems(root: Any, limits: EngineLimits) -> list[Problem]:
    """A loop cardinality that needs no variable is known at deploy: refuse one above the limit."""
    problems: list[Problem] = []
    for loop in root.xpath(".//bpmn:multiInstanceLoopCharacteristics", namespaces=NSMAP):
        for element in loop.xpath("./bpmn:loopCardinality", namespaces=NSMAP):
            text = (element.text or "").strip()
            if not text:
                continue
            try:
                value = evaluate(text, {})
            except ExpressionError:
                continue  # uses variables (checked at run time) or is invalid (lint says so)
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            if value > limits.max_multi_instance:
                owner = loop.getparent()
                problems.append(
                    (
                        owner.get("id"),
                        "multi_instance_too_large",
                        f"This multi-instance activity would start {value:,} instances; one may "
                        f"start at most {limits.max_multi_instance:,}. Split the work (for "
                        "example into batches handled by a called process) or lower the number.",
                    )
                )
    return problems


def _calls(process: Any) -> list[tuple[Any, str]]:
    return [
        (activity, (activity.get("calledElement") or "").strip())
        for activity in process.xpath(".//bpmn:callActivity", namespaces=NSMAP)
        if (activity.get("calledElement") or "").strip()
    ]


def call_cycle_problems(
    root: Any, process_id: str, called_roots: Mapping[str, Any]
) -> list[Problem]:
    """A call activity of ``process_id`` that leads back to a process already on the call path
    (itself included) would open called processes without end: refuse it."""
    processes: dict[str, Any] = {}
    for document in (*called_roots.values(), root):  # the deployed file's processes win
        for process in document.xpath(".//bpmn:process", namespaces=NSMAP):
            processes[process.get("id")] = process
    if process_id not in processes:
        return []
    edges = {pid: [target for _, target in _calls(node)] for pid, node in processes.items()}
    problems: list[Problem] = []
    for activity, target in _calls(processes[process_id]):
        path = _path_back(process_id, target, edges)
        if path is None:
            continue
        chain = " → ".join(f"'{p}'" for p in [process_id, *path])
        problems.append(
            (
                activity.get("id"),
                "recursive_call",
                f"Call activity '{activity.get('name') or activity.get('id')}' leads back to a "
                f"process already running ({chain}): a process may not call itself, directly or "
                "through other processes, because the calls would never end. Remove the call or "
                "model the repetition as a loop or a multi-instance activity.",
            )
        )
    return problems


def _path_back(start: str, first: str, edges: Mapping[str, list[str]]) -> list[str] | None:
    """The call path from ``first`` back to a process on it or to ``start``; None if none.
    Iterative depth-first search (no recursion on long call chains)."""
    stack: list[tuple[str, list[str]]] = [(first, [first])]
    seen: set[str] = set()
    while stack:
        node, path = stack.pop()
        if node == start:
            return path
        if node in seen:
            continue
        seen.add(node)
        for target in edges.get(node, ()):
            if target == start or target in path:
                return [*path, target]
            stack.append((target, [*path, target]))
    return None


def parse_deep(build: Callable[[], T], flow_nodes: int) -> T:
    """Run ``build`` (a Spiff parse) with room for ``flow_nodes`` levels of recursion."""
    needed = sys.getrecursionlimit() + flow_nodes * FRAMES_PER_NODE
    if flow_nodes <= INLINE_PARSE_NODES:
        return build()
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = build()
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller's thread
            outcome["error"] = exc

    with _parse_lock:  # one deep parse at a time: the recursion limit is per interpreter
        previous_limit = sys.getrecursionlimit()
        previous_stack = threading.stack_size()
        threading.stack_size(PARSE_STACK_BYTES)
        try:
            thread = threading.Thread(target=target, name="bpmn-deep-parse")
            sys.setrecursionlimit(max(previous_limit, needed))
            thread.start()
            thread.join()
        finally:
            sys.setrecursionlimit(previous_limit)
            threading.stack_size(previous_stack)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
