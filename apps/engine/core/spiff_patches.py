"""Make SpiffWorkflow 3.2's walks over the task tree safe for long instances (decision 022).

Spiff's task tree keeps every step an instance took, so a loop of 600 turns makes it ~1,800
levels deep, and a linear process of 2,000 steps is predicted 2,000 levels deep at start. Spiff
walks that tree in two ways that break there:

* ``TaskIterator(max_depth=1000)``: every search (``is_completed()``, ``do_engine_steps()``,
  joins, boundary events, terminate) silently stops 1,000 levels down. A long loop looked
  finished, with its variables gone. The default becomes "no depth limit"; the size of the tree
  is bounded by ``EngineLimits.max_instance_tasks`` instead.
* Recursion, one Python frame per level: ``TaskSpec._predict`` (predicting the future path) and
  ``Workflow._remove_task`` (dropping a predicted branch, moving a token back) raise
  ``RecursionError`` past ~1,000 levels. Both are replaced by iterative versions that visit the
  same tasks in the same order.
* ``Workflow.update_waiting_tasks`` walks the whole tree after every step; when at most one task
  waits it is found in an index of READY and WAITING tasks instead (same result, no walk). The
  index is kept by ``Task._state`` itself (a descriptor), so no state change can miss it.

``apply()`` runs once when ``apps.engine.core`` is imported; it is idempotent. Each patch checks
the signature it replaces, so a SpiffWorkflow upgrade that changes them fails loudly at import.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.specs.base import TaskSpec
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskIterator, TaskState
from SpiffWorkflow.workflow import Workflow

_APPLIED = "_flowgate_patched"


def _unbounded_iterators() -> None:
    for cls in (TaskIterator, BpmnTaskIterator):
        parameters = list(inspect.signature(cls.__init__).parameters)
        if parameters[:4] != ["self", "task", "end_at_spec", "max_depth"]:
            raise RuntimeError(f"SpiffWorkflow changed {cls.__name__}: review spiff_patches")
        defaults = list(cls.__init__.__defaults__ or ())
        defaults[1] = sys.maxsize  # (end_at_spec, max_depth, ...)
        cls.__init__.__defaults__ = tuple(defaults)


def _predict(
    self: Any,
    my_task: Any,
    seen: list[Any] | None = None,
    looked_ahead: int = 0,
    mask: int = TaskState.PREDICTED_MASK,
) -> None:
    """``TaskSpec._predict`` without recursion: the same pre-order walk, each child checked when
    the walk reaches it (after its earlier siblings' branches).

    Spiff's version also carries a list ``seen`` of task *specs*, copied at every level, and
    skips a child *task* found in it: a task is never one of the specs, so that test is always
    false. Dropping the list keeps the behaviour and makes each walk linear instead of quadratic.
    """
    if seen is not None and my_task.has_state(TaskState.PREDICTED_MASK):
        seen.append(self)  # the caller's list gets what Spiff would have appended to it
    stack: list[tuple[Any, int, bool]] = [(my_task, looked_ahead, False)]
    while stack:
        task, ahead, is_child = stack.pop()
        if is_child and not task.has_state(mask):
            continue
        spec = task.task_spec
        if task.has_state(mask):
            spec._predict_hook(task)
        look_ahead = task.has_state(TaskState.DEFINITE_MASK) or ahead + 1 < spec.lookahead
        if look_ahead:
            stack.extend((child, ahead + 1, True) for child in reversed(task.children))


def _remove_task(self: Any, task_id: UUID) -> None:
    """``Workflow._remove_task`` without recursion: a task's descendants go before it."""
    order: list[Any] = []
    stack = [self.tasks[task_id]]
    while stack:
        task = stack.pop()
        order.append(task)
        stack.extend(task.children)
    live = self.__dict__.get(_LIVE_INDEX, {})
    for task in reversed(order):
        task.parent._children.remove(task.id)
        self.tasks.pop(task.id)
        live.pop(task.id, None)
        self._task_removed_notify(task)


#: The states the engine looks for after every step (what to run next, what to wake up).
LIVE_STATES = TaskState.READY | TaskState.WAITING
_LIVE_INDEX = "_fg_live"


class _IndexedState:
    """``Task._state`` as a descriptor: every state change (Spiff's ``_set_state``, the
    constructor, a deserializer) also keeps ``workflow._fg_live`` = {task id: task} of the tasks
    that are READY or WAITING, so finding them costs their number, not the tree's size."""

    def __get__(self, task: Any, owner: Any = None) -> Any:
        if task is None:
            return self
        return task.__dict__["_fg_state"]

    def __set__(self, task: Any, value: int) -> None:
        task.__dict__["_fg_state"] = value
        workflow = task.__dict__.get("workflow")
        if workflow is None:
            return
        live = workflow.__dict__.get(_LIVE_INDEX)
        if live is None:
            live = workflow.__dict__[_LIVE_INDEX] = {}
        if value & LIVE_STATES:
            live[task.id] = task
        else:
            live.pop(task.id, None)


def live_tasks(workflow: Any) -> list[Any]:
    """The READY and WAITING tasks of ``workflow`` itself (not of its subprocesses)."""
    live = workflow.__dict__.get(_LIVE_INDEX)
    if live is None:
        return [task for task in workflow.tasks.values() if task.state & LIVE_STATES]
    return list(live.values())


_original_update_waiting_tasks = Workflow.update_waiting_tasks


def _update_waiting_tasks(self: Any) -> None:
    """``Workflow.update_waiting_tasks`` (run after every completed task) walks the whole tree.
    When at most one task waits, the walk can only find that one: take it from the index of
    live tasks instead (a step then costs nothing like a tree walk). Several: Spiff's walk, for
    its order."""
    waiting = [task for task in live_tasks(self) if task.state == TaskState.WAITING]
    if len(waiting) > 1:
        _original_update_waiting_tasks(self)
    elif waiting:
        waiting[0].task_spec._update(waiting[0])


def apply() -> None:
    if getattr(Workflow, _APPLIED, False):
        return
    _unbounded_iterators()
    predict_params = list(inspect.signature(TaskSpec._predict).parameters)
    if predict_params != ["self", "my_task", "seen", "looked_ahead", "mask"]:
        raise RuntimeError("SpiffWorkflow changed TaskSpec._predict: review spiff_patches")
    TaskSpec._predict = _predict  # type: ignore[method-assign]
    Workflow._remove_task = _remove_task  # type: ignore[method-assign]
    Workflow.update_waiting_tasks = _update_waiting_tasks  # type: ignore[method-assign]
    if "_state" in vars(Task):
        raise RuntimeError("SpiffWorkflow changed Task._state: review spiff_patches")
    Task._state = _IndexedState()  # type: ignore[attr-defined]
    setattr(Workflow, _APPLIED, True)


apply()
