"""Operator changes to a loaded instance, in pure Python (no Django): set a variable, move a
token back to an earlier step. Both act on a ``runner.Instance`` handle; the caller persists
its new state and effects as after any advance.

They use the handle's internals (``_wf``, ``_all_tasks``, ``_run``) because they are engine
operations like the handle's own methods; they could become methods of ``Instance``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.util.task import TaskState

from .errors import EngineError
from .runner import Instance, json_safe
from .specs import FlowgateServiceTask, FlowgateUserTask

FRONTIER = TaskState.READY | TaskState.STARTED | TaskState.WAITING
MOVABLE_SPECS = (FlowgateUserTask, FlowgateServiceTask)


@dataclass(frozen=True)
class MoveTarget:
    activity_id: str
    name: str
    task_id: str


def variable_set(handle: Instance, name: str, value: Any) -> None:
    """Set ``name`` on every waiting task (and the last completed one), so ``variables()``
    shows it and the next step reads it."""
    value = json_safe(value)
    wf = handle._wf
    touched = False
    for task in handle._all_tasks():
        if task.state & FRONTIER:
            task.data[name] = value
            touched = True
    anchor = wf.last_task if wf.last_task is not None else wf.task_tree
    anchor.data[name] = value
    if not touched and wf.is_completed():
        wf.data[name] = value


def move_targets(handle: Instance) -> list[MoveTarget]:
    """Earlier steps a token may move back to: completed user and service tasks of the main
    process (not inside a subprocess), the latest activation of each, most recent first."""
    latest: dict[str, Any] = {}
    for task in handle._wf.tasks.values():
        spec = task.task_spec
        if not isinstance(spec, MOVABLE_SPECS) or task.state != TaskState.COMPLETED:
            continue
        seen = latest.get(spec.bpmn_id)
        if seen is None or task.last_state_change > seen.last_state_change:
            latest[spec.bpmn_id] = task
    ordered = sorted(latest.values(), key=lambda t: t.last_state_change, reverse=True)
    return [
        MoveTarget(
            activity_id=t.task_spec.bpmn_id, name=t.task_spec.bpmn_name or "", task_id=str(t.id)
        )
        for t in ordered
    ]


def token_move_back(handle: Instance, activity_id: str) -> str:
    """Reset the workflow to the latest completed activation of ``activity_id``: every step
    after it is discarded and it runs again (a user task waits again, a service task starts
    again). Returns the engine task id of the re-activated step."""
    if handle._status() != "running":
        raise EngineError("Only a running instance can move a token back.")
    target = next((t for t in move_targets(handle) if t.activity_id == activity_id), None)
    if target is None:
        raise EngineError(
            f"'{activity_id}' is not a completed user or service task of this instance's main "
            "process: the token cannot move back there."
        )
    wf = handle._wf
    task = next(t for t in wf.tasks.values() if str(t.id) == target.task_id)
    handle._run(lambda: wf.reset_from_task_id(task.id))
    return target.task_id
