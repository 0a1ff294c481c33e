"""Pausing the boundary timers of one waiting user task (a task sent back to its requester:
its escalation clock stands still), in pure Python on a loaded ``runner.Instance``.

A paused timer keeps its due time in its task's internal data (``fg_paused_due``) and waits for
a moment that never comes; resuming sets the due time the caller computes from the stashed one
(the caller knows how long the pause was and in which calendar). Duration and date timers carry
their due time as ``event_value``; a cycle timer as ``event_value["next"]``. The caller persists
the state and the timer rows, as after any operation.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskState

from .business_time import parse_business_duration
from .runner import Instance

PAUSED = "fg_paused_due"
NEVER = "9999-12-31T00:00:00+00:00"


def _boundary_timers(handle: Instance, task_id: str) -> list[Any]:
    """The waiting timer boundary events on the user task ``task_id`` (engine id)."""
    try:
        task = handle._wf.get_task_from_id(UUID(task_id))
    except (ValueError, KeyError, TypeError):
        return []
    if task is None or task.parent is None:
        return []
    return [
        sibling
        for sibling in task.parent.children
        if sibling is not task
        and sibling.state == TaskState.WAITING
        and isinstance(getattr(sibling.task_spec, "event_definition", None), TimerEventDefinition)
    ]


def _due(value: Any) -> str | None:
    if isinstance(value, dict):
        return value.get("next")
    return value if isinstance(value, str) else None


def _with_due(value: Any, due: str) -> Any:
    if isinstance(value, dict):
        return {**value, "next": due}
    return due


def boundary_timers_pause(handle: Instance, task_id: str) -> list[str]:
    """Stop the boundary timers of ``task_id``; returns their activity ids."""
    paused = []
    for timer in _boundary_timers(handle, task_id):
        value = timer.internal_data.get("event_value")
        if _due(value) is None or PAUSED in timer.internal_data:
            continue
        timer.internal_data[PAUSED] = _due(value)
        timer.internal_data["event_value"] = _with_due(value, NEVER)
        paused.append(timer.task_spec.bpmn_id)
    return paused


def boundary_timers_resume(
    handle: Instance, task_id: str, move: Callable[[str, datetime, bool], datetime]
) -> list[str]:
    """Start the paused boundary timers of ``task_id`` again, each due at
    ``move(activity id, due before the pause, counts business time)``; returns their ids."""
    resumed = []
    for timer in _boundary_timers(handle, task_id):
        before = timer.internal_data.pop(PAUSED, None)
        if before is None:
            continue
        expression = str(getattr(timer.task_spec.event_definition, "expression", "") or "")
        business = parse_business_duration(expression.strip("'\"")) is not None
        due = move(timer.task_spec.bpmn_id, datetime.fromisoformat(before), business)
        timer.internal_data["event_value"] = _with_due(
            timer.internal_data.get("event_value"), due.isoformat()
        )
        resumed.append(timer.task_spec.bpmn_id)
    return resumed
