"""Bounds on engine work: every advance stops after a number of steps or seconds, an instance
stops growing past a number of tasks, a multi-instance starts a bounded number of instances.

Why (decision 022): SpiffWorkflow runs ``do_engine_steps()`` until nothing is ready, so an
endless loop, a recursive call activity or a multi-instance of a million elements kept a web
thread busy for minutes. Its task iterators also stop at a depth of 1,000, so a long loop used to
look finished (``is_completed()`` found no unfinished task) with its variables gone. Here:

* ``advance()`` replaces ``do_engine_steps()``: the same passes, but it counts steps and time and
  stops cleanly (before a task runs, never inside one) when ``EngineLimits`` says so. The instance
  then keeps its ready tasks and says why it stopped (``Effects.halted``);
* ``spiff_patches`` lifts Spiff's iterator depth (the instance size limit bounds the tree) and
  removes its deep recursions;
* a multi-instance refuses to start more than ``max_multi_instance`` instances.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.util.task import TaskState

from .spiff_patches import live_tasks

DEFAULT_MAX_STEPS_PER_RUN = 2_000
DEFAULT_MAX_SECONDS_PER_RUN = 5.0
DEFAULT_MAX_INSTANCE_TASKS = 20_000
DEFAULT_MAX_MULTI_INSTANCE = 1_000
DEFAULT_MAX_FLOW_NODES = 5_000
DEFAULT_MAX_NESTING = 25


@dataclass(frozen=True)
class EngineLimits:
    """How much engine work one operation and one instance may do.

    ``max_steps_per_run``: engine steps (tasks run: events, gateways, activities) in one operation
    (a start, a task completion, a job result). ``max_seconds_per_run``: wall time of those steps.
    ``max_instance_tasks``: the size of an instance's task tree, which keeps every step taken
    (a loop adds a few tasks per turn). ``max_multi_instance``: instances one multi-instance
    activity may start. ``max_flow_nodes``: flow nodes in one deployed process.
    ``max_nesting``: subprocesses and called processes open inside each other.
    """

    max_steps_per_run: int = DEFAULT_MAX_STEPS_PER_RUN
    max_seconds_per_run: float = DEFAULT_MAX_SECONDS_PER_RUN
    max_instance_tasks: int = DEFAULT_MAX_INSTANCE_TASKS
    max_multi_instance: int = DEFAULT_MAX_MULTI_INSTANCE
    max_flow_nodes: int = DEFAULT_MAX_FLOW_NODES
    max_nesting: int = DEFAULT_MAX_NESTING


DEFAULT_LIMITS = EngineLimits()


def tree_size(workflow: Any) -> int:
    """Tasks of the workflow and of all its subprocesses."""
    return len(workflow.tasks) + sum(len(sub.tasks) for sub in workflow.subprocesses.values())


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,}"


class _Halt(Exception):
    def __init__(self, reason: str, activity_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.activity_id = activity_id


@dataclass(frozen=True)
class Halt:
    """Why a run stopped before the instance waited, and at which activity (if it has an id)."""

    reason: str
    activity_id: str | None


class _Budget:
    def __init__(self, workflow: Any, limits: EngineLimits) -> None:
        self.workflow = workflow
        self.limits = limits
        self.steps = 0
        self.deadline = time.monotonic() + limits.max_seconds_per_run

    def charge(self, task: Any) -> None:
        """Called before each step; raises ``_Halt`` (nothing half done) when a limit is reached."""
        limits = self.limits
        where = getattr(task.task_spec, "bpmn_name", None) or getattr(
            task.task_spec, "bpmn_id", None
        )
        at = f" at '{where}'" if where else ""
        activity_id = getattr(task.task_spec, "bpmn_id", None)
        if self.steps >= limits.max_steps_per_run:
            raise _Halt(
                f"The engine stopped{at} after {_fmt(limits.max_steps_per_run)} steps in a row "
                "without reaching a wait (a user task, a service task, a timer or a message), "
                "the limit for one run. The process most likely loops without end: cancel this "
                "instance and deploy a version whose loop ends. If the work is meant to be this "
                "long, retry the incident to run the next steps.",
                activity_id,
            )
        if time.monotonic() > self.deadline:
            raise _Halt(
                f"The engine stopped{at} after {_fmt(limits.max_seconds_per_run)} seconds of "
                f"steps ({self.steps:,} steps) without reaching a wait, the time limit for one "
                "run. The process most likely loops without end: cancel this instance and deploy "
                "a version whose loop ends, or retry the incident to run the next steps.",
                activity_id,
            )
        depth = getattr(task.workflow, "depth", 0) or 0
        if depth > limits.max_nesting:
            raise _Halt(
                f"The engine stopped{at}: subprocesses and called processes are open "
                f"{depth} levels deep inside each other, the limit is {limits.max_nesting}. "
                "A process most likely calls itself (directly or through another process): "
                "cancel this instance and deploy versions that do not call each other in a circle.",
                activity_id,
            )
        size = tree_size(self.workflow)
        if size >= limits.max_instance_tasks:
            raise _Halt(
                f"The engine stopped{at}: this instance has taken {size:,} steps, the limit for "
                f"one instance is {_fmt(limits.max_instance_tasks)}. A loop in the process most "
                "likely runs too often or without end: cancel this instance, and model long "
                "repetitions as a multi-instance activity or a called process started per item.",
                activity_id,
            )
        self.steps += 1


def advance(workflow: Any, limits: EngineLimits) -> Halt | None:
    """Run ready engine tasks until the instance waits (None) or a limit stops it (the reason).

    The same passes as ``BpmnWorkflow.do_engine_steps()`` (deepest subprocesses first, then the
    process itself), with a budget charged before each task runs."""
    budget = _Budget(workflow, limits)
    try:
        while _engine_pass(workflow, budget):
            pass
    except _Halt as halt:
        return Halt(halt.reason, halt.activity_id)
    workflow.refresh_timers()
    return None


def _ready_tasks(wf: Any) -> list[Any]:
    """What ``wf.get_tasks(state=READY)`` returns, in its order. That walks the whole tree (and
    the subprocesses under it); when the flat task maps hold at most one ready task of ``wf``
    itself, the walk can only return that one, so skip it."""
    own = [t for t in live_tasks(wf) if t.state == TaskState.READY]
    if len(own) <= 1 and not any(
        t.state == TaskState.READY
        for sub in wf.top_workflow.subprocesses.values()
        if sub is not wf
        for t in live_tasks(sub)
    ):
        return own
    return list(wf.get_tasks(state=TaskState.READY))


def _run_ready(wf: Any, budget: _Budget) -> int:
    count = 0
    for task in _ready_tasks(wf):
        if task.task_spec.manual or task.state != TaskState.READY:
            continue
        budget.charge(task)
        task.run()
        count += 1
    return count


def _engine_pass(workflow: Any, budget: _Budget) -> bool:
    active = workflow.get_active_subprocesses()
    for subprocess in sorted(active, key=lambda sp: sp.depth, reverse=True):
        while _run_ready(subprocess, budget) > 0:
            pass
        if subprocess.parent_task_id is not None:
            task = workflow.get_task_from_id(subprocess.parent_task_id)
            task.task_spec._update(task)
    count = _run_ready(workflow, budget)
    return count > 0 or len(workflow.get_active_subprocesses()) > len(active)
