"""An instance's state without its spec: a compact, versioned JSON form of Spiff's task tree.

The spec is stored once per process version; an instance stores only this (4-10 KB). Tasks are
one list each, parents first, the parent by index, data as deltas against the parent.
Serialization is the main per-step cost, so it is kept lean (see docs/benchmarks/engine.md).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState

from .specs import REGISTRY, SCRIPT_ENGINE


def _encode_tasks(workflow: Any) -> list[list[Any]]:
    """Compact task tree: one list per task, parents first, parent by index, data as deltas."""
    order: list[Any] = []
    stack = [workflow.task_tree]
    while stack:
        task = stack.pop()
        order.append(task)
        stack.extend(reversed(task.children))
    if len(order) != len(workflow.tasks):  # pragma: no cover - detached tasks are a Spiff bug
        seen = {t.id for t in order}
        order.extend(t for t in workflow.tasks.values() if t.id not in seen)
    index = {task.id: i for i, task in enumerate(order)}
    convert = REGISTRY.convert
    rows: list[list[Any]] = []
    for task in order:
        parent = task.parent
        if parent is None:
            data: Any = convert(REGISTRY.clean(task.data))
        else:
            updates = DeepMerge.get_updated_keys(parent.data, task.data)
            deletions = DeepMerge.get_deleted_keys(parent.data, task.data)
            data = [convert(updates), deletions] if updates or deletions else 0
        rows.append(
            [
                str(task.id),
                index.get(task._parent, -1) if task._parent is not None else -1,
                task.state,
                task.task_spec.name,
                round(task.last_state_change, 3),
                1 if task.triggered else 0,
                convert(task.internal_data) if task.internal_data else 0,
                data,
            ]
        )
    return rows


def _decode_tasks(workflow: Any, rows: list[list[Any]]) -> None:
    specs = workflow.spec.task_specs
    restore = REGISTRY.restore
    tasks: list[Any] = []
    workflow.tasks = {}
    for task_id, parent_idx, state, spec_name, changed, triggered, internal, data in rows:
        task = Task(workflow, specs[spec_name], state=state, id=UUID(task_id))
        task.last_state_change = changed
        task.triggered = bool(triggered)
        task.internal_data = restore(internal) if internal else {}
        if parent_idx >= 0:
            parent = tasks[parent_idx]
            task._parent = parent.id
            parent._children.append(task.id)
            merged = DeepMerge.merge({}, parent.data)
            if data:
                merged.update(restore(data[0]))
                for key in data[1]:
                    merged.pop(key, None)
            task.data = merged
        else:
            task.data = restore(data)
        if isinstance(task.task_spec, CatchingEvent) and task.has_state(TaskState.WAITING):
            workflow.top_workflow.event_manager.add_task(task)
        tasks.append(task)
    workflow.task_tree = tasks[0]


def _encode_workflow(workflow: Any) -> dict[str, Any]:
    return {
        "data": REGISTRY.convert(REGISTRY.clean(workflow.data)),
        "correlations": workflow.correlations,
        "last_task": str(workflow.last_task.id) if workflow.last_task is not None else None,
        "success": workflow.success,
        "completed": workflow.completed,
        "tasks": _encode_tasks(workflow),
    }


def _decode_attributes(workflow: Any, dct: dict[str, Any]) -> None:
    workflow.success = dct["success"]
    workflow.completed = dct["completed"]
    workflow.correlations = dct.get("correlations", {})
    last = dct.get("last_task")
    workflow.last_task = workflow.tasks.get(UUID(last)) if last else None
    workflow.data = REGISTRY.restore(dct.get("data", {}))


def encode_state(workflow: Any) -> dict[str, Any]:
    top = _encode_workflow(workflow)
    top["subprocesses"] = {
        str(task_id): {**_encode_workflow(sub), "spec": sub.spec.name}
        for task_id, sub in workflow.subprocesses.items()
    }
    top["bpmn_events"] = REGISTRY.convert(workflow.bpmn_events)
    return top


def decode_state(dct: dict[str, Any], spec: Any, subprocess_specs: Any) -> Any:
    workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=SCRIPT_ENGINE, deserializing=True)
    _decode_tasks(workflow, dct["tasks"])
    _decode_attributes(workflow, dct)
    pending = dict(dct.get("subprocesses", {}))

    def attach(parent_workflow: Any) -> None:
        for task in list(parent_workflow.tasks.values()):
            sub_dct = pending.pop(str(task.id), None)
            if sub_dct is None or not isinstance(task.task_spec, SubWorkflowTask):
                continue
            sub = BpmnSubWorkflow(
                subprocess_specs[sub_dct["spec"]], task.id, workflow, deserializing=True
            )
            _decode_tasks(sub, sub_dct["tasks"])
            _decode_attributes(sub, sub_dct)
            workflow.subprocesses[task.id] = sub
            sub.completed_event.connect(task.task_spec._on_subworkflow_completed, task)
            attach(sub)

    attach(workflow)
    workflow.bpmn_events = REGISTRY.restore(dct.get("bpmn_events", []))
    return workflow
