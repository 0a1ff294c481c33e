"""What an instance shows: its effects (human tasks, service tasks, timers, message waits),
variables and status, and the activity events recorded around each operation."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.simple import TerminateEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from ..compensation import QUEUE_VARIABLE, RECORD_KEY, cancel_finished, model_id
from ..effects import (
    ActivityEvent,
    CompensationEvent,
    Effects,
    EventKind,
    MessageWaitInfo,
    SentMessage,
    ServiceTaskInfo,
    Status,
    TimerInfo,
    UserTaskInfo,
)
from ..limits import Halt
from ..specs import (
    FlowgateServiceTask,
    FlowgateStartEvent,
    FlowgateUserTask,
    evaluate_in_task,
    message_definitions,
    timer_due,
)
from .spiff import (
    VISIBLE_STATES,
    activity_type,
    is_visible,
    json_safe,
    runtime_error,
    service_task_info,
)


class InstanceView:
    """The reading half of ``Instance``: everything here looks at the workflow, nothing advances it."""

    _wf: Any
    _cancelled: bool
    _events: list[ActivityEvent]
    _sent: list[SentMessage]
    _compensation: list[CompensationEvent]
    _halted: Halt | None
    _internal: frozenset[str]  # elements of the compensation transform: not reported as steps

    # -- effects --------------------------------------------------------------------------------

    def effects(self) -> Effects:
        user_tasks: list[UserTaskInfo] = []
        service_tasks: list[ServiceTaskInfo] = []
        for task in self._all_tasks():
            spec = task.task_spec
            if isinstance(spec, FlowgateUserTask) and task.state == TaskState.READY:
                user_tasks.append(self._user_task_info(task))
            elif isinstance(spec, FlowgateServiceTask) and task.state == TaskState.STARTED:
                service_tasks.append(service_task_info(task))
        return Effects(
            status=self._status(),
            variables=self.variables(),
            user_tasks=tuple(user_tasks),
            service_tasks=tuple(service_tasks),
            timers=tuple(self._timers()),
            message_waits=tuple(self._message_waits()),
            events=tuple(self._events),
            messages_sent=tuple(self._sent),
            halted=self._halted.reason if self._halted else None,
            halted_at=self._halted.activity_id if self._halted else None,
            compensation=tuple(self._compensation),
        )

    def service_tasks(self) -> tuple[ServiceTaskInfo, ...]:
        """The service tasks waiting for a result: ``effects().service_tasks`` without the rest."""
        return tuple(
            service_task_info(task)
            for task in self._all_tasks()
            if task.state == TaskState.STARTED and isinstance(task.task_spec, FlowgateServiceTask)
        )

    @property
    def events(self) -> tuple[ActivityEvent, ...]:
        """The activity events of every operation on this handle so far, oldest first."""
        return tuple(self._events)

    def variables(self) -> dict[str, Any]:
        wf = self._wf
        if self._reached_end() and not self._cancelled:
            data = dict(wf.data)
        else:
            data = dict(wf.last_task.data) if wf.last_task is not None else dict(wf.task_tree.data)
            frontier = TaskState.READY | TaskState.STARTED | TaskState.WAITING
            for task in self._all_tasks():
                if task.state & frontier:
                    data.update(task.data)
        data.pop("data_objects", None)
        data.pop(RECORD_KEY, None)
        data.pop(QUEUE_VARIABLE, None)
        return json_safe(data)

    # -- internals ------------------------------------------------------------------------------

    def _status(self) -> Status:
        if self._cancelled or cancel_finished(self._wf.data):
            return "cancelled"
        if self._reached_end():
            return "completed"
        if any(t.state == TaskState.ERROR for t in self._all_tasks()):
            return "error"
        return "running"

    def _reached_end(self) -> bool:
        """Completed means a token reached the end: the process's End task (after its end
        events) or a terminate end event completed. Never inferred from Spiff's iterators, which
        used to stop 1,000 levels down and report a long loop as finished."""
        if not self._wf.completed:
            # Spiff sets ``completed`` whenever End or a terminate end event completes (and on
            # cancel, or when its iterator finds nothing): False is proof enough of "not ended".
            return False
        for task in self._wf.tasks.values():
            if task.state != TaskState.COMPLETED:
                continue
            spec = task.task_spec
            if spec.name == "End" or isinstance(
                getattr(spec, "event_definition", None), TerminateEventDefinition
            ):
                return True
        return False

    def _all_tasks(self) -> list[Any]:
        tasks = list(self._wf.tasks.values())
        for sub in self._wf.subprocesses.values():
            tasks.extend(sub.tasks.values())
        return tasks

    def _record_events(self, before: dict[Any, int], at: datetime) -> None:
        tasks = sorted(self._all_tasks(), key=lambda t: t.last_state_change)
        for task in tasks:
            if not is_visible(task) or not task.has_state(VISIBLE_STATES):
                continue
            if task.task_spec.bpmn_id in self._internal:
                continue
            previous = before.get(task.id)
            if previous == task.state:
                continue
            spec = task.task_spec
            was_entered = previous is not None and previous & VISIBLE_STATES
            kinds: list[EventKind] = []
            if task.state == TaskState.CANCELLED:
                if was_entered:
                    kinds.append("cancelled")
            else:
                if not was_entered:
                    kinds.append("entered")
                if task.state == TaskState.COMPLETED:
                    kinds.append("completed")
            for kind in kinds:
                self._events.append(
                    ActivityEvent(kind, str(task.id), model_id(spec), activity_type(spec), at)
                )

    def _user_task_info(self, task: Any) -> UserTaskInfo:
        spec = task.task_spec
        ext = getattr(spec, "extensions", {}) or {}
        info = task.internal_data.get("fg", {})
        groups = list(info.get("candidate_groups", []))
        users = list(info.get("candidate_users", []))
        assignee = info.get("assignee")
        if not groups and not users and not assignee and ext.get("lane_role") and spec.lane:
            groups = [spec.lane]
        return UserTaskInfo(
            task_id=str(task.id),
            activity_id=model_id(spec),
            name=spec.bpmn_name or model_id(spec),
            lane=spec.lane,
            candidate_groups=tuple(groups),
            candidate_users=tuple(users),
            assignee=assignee,
            due=info.get("due"),
            priority=info.get("priority"),
            form=copy.deepcopy(ext.get("form")),  # the spec is shared by every instance
            approval=bool(ext.get("approval")),
            documentation=spec.documentation,
            form_key=ext.get("form_key"),
            outcome_variable=ext.get("outcome_variable", "outcome"),
            multi_instance_id=_multi_instance_id(task),
        )

    def _timers(self) -> list[TimerInfo]:
        result: list[TimerInfo] = []
        for task in self._wf.event_manager.tasks.values():
            definition = task.task_spec.event_definition
            if isinstance(definition, TimerEventDefinition):
                owners = [task.task_spec]
            elif isinstance(definition, MultipleEventDefinition):
                owners = [
                    task.task_spec.outputs[idx]
                    if idx < len(task.task_spec.outputs)
                    else task.task_spec
                    for idx, inner in enumerate(definition.event_definitions)
                    if isinstance(inner, TimerEventDefinition)
                ]
            else:
                continue
            due = timer_due(task)
            if due is None:
                continue
            for owner in owners:
                result.append(TimerInfo(str(task.id), owner.bpmn_id, due))
        return result

    def _message_waits(self) -> list[MessageWaitInfo]:
        result: list[MessageWaitInfo] = []
        for task in self._wf.event_manager.tasks.values():
            if task.state != TaskState.WAITING:
                continue
            if isinstance(task.task_spec, FlowgateStartEvent) and task.workflow is self._wf:
                continue
            for definition, owner in message_definitions(task):
                ext = getattr(owner, "extensions", {}) or {}
                key_expression = ext.get("correlation_key")
                key = None
                if key_expression:
                    try:
                        value = evaluate_in_task(task, key_expression)
                    except SpiffWorkflowException as exc:
                        raise runtime_error(exc) from exc
                    key = None if value is None else str(value)
                result.append(MessageWaitInfo(str(task.id), owner.bpmn_id, definition.name, key))
        return result


def _multi_instance_id(task: Any) -> str:
    """The id of the multi-instance task whose instance ``task`` is ("" otherwise): Spiff adds
    each instance as a child of the multi-instance task, whose spec names the instance spec."""
    parent = task.parent
    if parent is None:
        return ""
    if isinstance(parent.task_spec, MultiInstanceTask):
        return str(parent.id)
    return ""
