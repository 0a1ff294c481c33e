"""Operator changes to a loaded instance, in pure Python (no Django): set a variable (a token
move is ``modification``). It acts on a ``runner.Instance`` handle; the caller persists
its new state and effects as after any advance.

It uses the handle's internals (``_wf``, ``_all_tasks``, ``_run``) because they are engine
operations like the handle's own methods; it could become a method of ``Instance``.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.util.task import TaskState

from .runner import Instance, json_safe

FRONTIER = TaskState.READY | TaskState.STARTED | TaskState.WAITING


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
