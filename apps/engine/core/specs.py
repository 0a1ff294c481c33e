"""Flowgate's task specs, script engine and serializer registry on top of SpiffWorkflow 3.2.

* ``FlowgateScriptEngine`` evaluates every expression with our whitelist evaluator and refuses to
  execute scripts (Spiff's default engine is ``eval``/``exec``).
* ``FlowgateServiceTask`` stops in STARTED like the stock service task and carries the connector
  name, input/output mappings and max attempts.
* ``FlowgateUserTask`` evaluates its assignment (assignee, candidates, due date, priority) when it
  becomes ready and keeps the result in the task's internal data.
* Timer event definitions read the instance clock instead of the wall clock, so the runtime (and
  the tests) decide what "now" is.
* Multi-instance tasks expose ``nrOfInstances``, ``nrOfCompletedInstances``,
  ``nrOfActiveInstances``, ``nrOfApproved`` and ``nrOfRejected`` to the completion condition.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.event_definition import (
    TimerConditionalEventDefinitionConverter,
)
from SpiffWorkflow.bpmn.serializer.default.task_spec import (
    BpmnTaskSpecConverter,
    EventConverter,
    MultiInstanceTaskConverter,
)
from SpiffWorkflow.bpmn.specs.defaults import (
    ManualTask,
    NoneTask,
    ParallelMultiInstanceTask,
    SequentialMultiInstanceTask,
    ServiceTask,
    StartEvent,
    UserTask,
)
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
)
from SpiffWorkflow.specs.base import TaskSpec
from SpiffWorkflow.util.task import TaskState

from . import timers
from .approvals import APPROVED, REJECTED, decision_of  # noqa: F401 - APPROVED/REJECTED re-exported
from .business_time import BusinessCalendar, CalendarError, parse_business_duration
from .expressions import ExpressionError, compile_expression, evaluate
from .limits import DEFAULT_LIMITS


class ScriptRefusedError(Exception):
    """Raised if anything asks the engine to execute a script."""


# --------------------------------------------------------------------------------------------
# Clock
# --------------------------------------------------------------------------------------------


def clock_now(my_task: Any) -> datetime:
    """The instance clock: ``fg_now`` on the top workflow when set, else the wall clock (UTC)."""
    top = my_task.workflow.top_workflow
    now = getattr(top, "fg_now", None)
    return now if now is not None else datetime.now(UTC)


def _as_text(value: Any) -> str:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, timedelta):
        return f"PT{int(value.total_seconds())}S"
    if not isinstance(value, str):
        raise timers.TimerValueError(f"A timer value must be text, not {type(value).__name__}.")
    return value


# --------------------------------------------------------------------------------------------
# Script engine
# --------------------------------------------------------------------------------------------


class ExpressionEnvironment(BasePythonScriptEngineEnvironment):
    """Spiff environment that evaluates with ``apps.engine.core.expressions``; never executes."""

    def evaluate(
        self, expression: str, context: Mapping[str, Any], external_context: Any = None
    ) -> Any:
        if external_context:
            variables: Mapping[str, Any] = {**external_context, **context}
        else:
            variables = context
        return evaluate(expression, variables)

    def execute(self, script: str, context: Any, external_context: Any = None) -> Any:
        raise ScriptRefusedError(
            "Scripts are not executed by Flowgate; use a service task bound to a connector."
        )

    def call_service(self, context: Any, **kwargs: Any) -> Any:
        raise ScriptRefusedError("Service tasks are run by the Flowgate runtime, not inline.")


class FlowgateScriptEngine(PythonScriptEngine):
    def __init__(self) -> None:
        super().__init__(environment=ExpressionEnvironment())

    def validate(self, expression: str) -> None:
        compile_expression(expression)

    def execute(self, task: Any, script: str, external_context: Any = None) -> Any:
        raise ScriptRefusedError(
            "Scripts are not executed by Flowgate; use a service task bound to a connector."
        )


SCRIPT_ENGINE = FlowgateScriptEngine()


def evaluate_in_task(my_task: Any, expression: str, extra: Mapping[str, Any] | None = None) -> Any:
    """Evaluate against the task's variables; failures name the task (for incidents)."""
    variables: Mapping[str, Any] = {**my_task.data, **extra} if extra else my_task.data
    try:
        return evaluate(expression, variables)
    except ExpressionError as exc:
        raise WorkflowTaskException(
            f"Expression '{expression}' failed: {exc.message}", task=my_task
        ) from exc


# --------------------------------------------------------------------------------------------
# Timers on the instance clock
# --------------------------------------------------------------------------------------------


class FlowgateTimeDateTimer(TimeDateEventDefinition):
    def has_fired(self, my_task: Any) -> bool:
        due = my_task._get_internal_data("event_value")
        if due is None:
            value = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            due = timers.parse_datetime(_as_text(value)).isoformat()
            my_task._set_internal_data(event_value=due)
        if datetime.fromisoformat(due) <= clock_now(my_task):
            my_task._set_internal_data(event_fired=True)
        return bool(my_task._get_internal_data("event_fired", False))


def business_calendar_of(my_task: Any) -> BusinessCalendar:
    """The business calendar of a timer task: ``fg_business_calendar(bpmn_id)`` on the top
    workflow, which the runtime sets (the calendar of the user task a boundary timer sits on,
    else of the process, else the portal's); raises when the runtime set none."""
    resolve = getattr(my_task.workflow.top_workflow, "fg_business_calendar", None)
    calendar = resolve(my_task.task_spec.bpmn_id) if resolve is not None else None
    if calendar is None:
        raise WorkflowTaskException("Business time needs a business calendar.", task=my_task)
    return calendar


class FlowgateDurationTimer(DurationTimerEventDefinition):
    """An ISO-8601 duration on the wall clock, or business time ("1 business day") counted by
    the task's business calendar (docs/calendars.md)."""

    def has_fired(self, my_task: Any) -> bool:
        due = my_task._get_internal_data("event_value")
        if due is None:
            value = _as_text(my_task.workflow.script_engine.evaluate(my_task, self.expression))
            now = clock_now(my_task)
            business = parse_business_duration(value)
            if business is not None:
                try:
                    due = business_calendar_of(my_task).add(now, business).isoformat()
                except CalendarError as exc:
                    raise WorkflowTaskException(str(exc), task=my_task) from exc
            else:
                due = (now + timers.parse_duration(value, start=now)).isoformat()
            my_task._set_internal_data(event_value=due)
        if datetime.fromisoformat(due) <= clock_now(my_task):
            my_task._set_internal_data(event_fired=True)
        return bool(my_task._get_internal_data("event_fired", False))


class FlowgateCycleTimer(CycleTimerEventDefinition):
    def cycle_complete(self, my_task: Any) -> bool:
        now = clock_now(my_task)
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            value = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            cycle = timers.parse_cycle(_as_text(value), now=now)
            event_value = {
                "cycles": cycle.repetitions,
                "next": cycle.first.isoformat(),
                "duration": cycle.interval.total_seconds(),
            }
        ready = False
        if event_value["cycles"] != 0:
            next_event = datetime.fromisoformat(event_value["next"])
            if next_event <= now:
                event_value["next"] = (
                    next_event + timedelta(seconds=event_value["duration"])
                ).isoformat()
                event_value["cycles"] -= 1
                ready = True
        else:
            my_task.internal_data["event_fired"] = True
        my_task._set_internal_data(event_value=event_value)
        return ready


TIMER_CLASSES = {
    "date": FlowgateTimeDateTimer,
    "duration": FlowgateDurationTimer,
    "cycle": FlowgateCycleTimer,
}


def timer_due(task: Any) -> datetime | None:
    """Due time of a waiting timer task (None once a cycle has finished)."""
    value = task.internal_data.get("event_value")
    if isinstance(value, dict):
        if value.get("cycles") == 0:
            return None
        value = value.get("next")
    if not isinstance(value, str):
        return None
    return datetime.fromisoformat(value).astimezone(UTC)


# --------------------------------------------------------------------------------------------
# Task specs
# --------------------------------------------------------------------------------------------


class FlowgateNoneTask(NoneTask):
    """A plain ``bpmn:task`` passes through (as in Camunda) instead of waiting for a person."""

    def __init__(self, wf_spec: Any, bpmn_id: str, **kwargs: Any) -> None:
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.manual = False


class FlowgateManualTask(ManualTask):
    """A manual task is work done outside the system: the engine passes through it."""

    def __init__(self, wf_spec: Any, bpmn_id: str, **kwargs: Any) -> None:
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.manual = False


def _evaluate_list(my_task: Any, items: list[Any]) -> list[str]:
    result: list[str] = []
    for item in items:
        if isinstance(item, dict):
            value = evaluate_in_task(my_task, item["expr"])
            if isinstance(value, list | tuple):
                result.extend(str(v) for v in value)
            elif value is not None and value != "":
                result.extend(s.strip() for s in str(value).split(",") if s.strip())
        else:
            result.append(str(item))
    return result


def _evaluate_value(my_task: Any, item: Any) -> Any:
    if isinstance(item, dict):
        return evaluate_in_task(my_task, item["expr"])
    return item


class FlowgateUserTask(UserTask):
    """User task whose assignment is evaluated once, when it becomes ready."""

    def _on_ready_hook(self, my_task: Any) -> None:
        super()._on_ready_hook(my_task)
        ext = getattr(self, "extensions", {}) or {}
        now = clock_now(my_task)
        due: str | None = None
        due_spec = ext.get("due_date")
        if due_spec is not None:
            value = _evaluate_value(my_task, due_spec)
            if value not in (None, ""):
                text = _as_text(value)
                if text.upper().startswith("P"):
                    due = (now + timers.parse_duration(text, start=now)).isoformat()
                else:
                    due = timers.parse_datetime(text).isoformat()
        priority = _evaluate_value(my_task, ext.get("priority"))
        assignee = _evaluate_value(my_task, ext.get("assignee"))
        my_task.internal_data["fg"] = {
            "entered": now.isoformat(),
            "assignee": None if assignee in (None, "") else str(assignee),
            "candidate_groups": _evaluate_list(my_task, ext.get("candidate_groups", [])),
            "candidate_users": _evaluate_list(my_task, ext.get("candidate_users", [])),
            "due": due,
            "priority": None if priority in (None, "") else int(priority),
        }


class FlowgateServiceTask(ServiceTask):
    """Automated step run by a connector outside the instance lock; waits in STARTED."""

    def __init__(
        self,
        wf_spec: Any,
        bpmn_id: str,
        connector: str | None = None,
        input_mappings: list[list[str]] | None = None,
        output_mappings: list[list[str]] | None = None,
        max_attempts: int = 3,
        **kwargs: Any,
    ) -> None:
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.connector = connector
        self.input_mappings = [list(pair) for pair in input_mappings or []]
        self.output_mappings = [list(pair) for pair in output_mappings or []]
        self.max_attempts = max_attempts

    def _execute(self, task: Any) -> None:
        # Inputs are evaluated once, at activation: a retried job sends exactly the same request.
        task.internal_data["fg_inputs"] = {
            name: evaluate_in_task(task, expression) for name, expression in self.input_mappings
        }
        return None

    def apply_result(self, task: Any, result: Any) -> None:
        if self.output_mappings:
            for name, expression in self.output_mappings:
                task.data[name] = evaluate_in_task(task, expression, {"result": result})
        elif isinstance(result, Mapping):
            task.data.update(result)


class FlowgateBusinessRuleTask(FlowgateServiceTask):
    """A business rule task: a job of the ``decision`` connector (business_rules.py). Its inputs
    are the decision reference plus a copy of the variables the decision reads."""

    def _execute(self, task: Any) -> None:
        super()._execute(task)
        task.internal_data["fg_inputs"]["variables"] = copy.deepcopy(dict(task.data))
        return None


class FlowgateStartEvent(StartEvent):
    """Start event that honours an explicit start (timer/message start chosen by the runtime)."""

    def _update_hook(self, my_task: Any) -> Any:
        top = my_task.workflow.top_workflow
        forced = getattr(top, "fg_forced_start", None)
        if forced is not None and my_task.workflow is top:
            if self.bpmn_id == forced:
                my_task._set_internal_data(event_fired=True)
                payload = getattr(top, "fg_start_payload", None)
                if payload:
                    my_task.data.update(payload)
            else:
                my_task._inherit_data()
                if my_task.state != TaskState.WAITING:
                    my_task._set_state(TaskState.WAITING)
                return None
        return super()._update_hook(my_task)

    def _predict_hook(self, my_task: Any) -> None:
        # Spiff does not predict the outputs of a cycle-timer start event (it adds them per cycle);
        # Flowgate fires timer starts by creating a new instance, so always predict them.
        TaskSpec._predict_hook(self, my_task)


class _MultiInstanceCounters:
    """Completion condition context and input-item hygiene for both multi-instance kinds."""

    task_spec: str
    condition: str | None
    input_item: Any
    data_input: Any

    cardinality: Any

    def _update_hook(self, my_task: Any) -> Any:
        self._check_size(my_task)
        if my_task.has_state(TaskState.PREDICTED_MASK):
            # after a boundary event or a start event split Spiff updates the task while it is
            # still predicted (MAYBE) and then refuses the instances it adds ("non-predicted
            # child"); an update means its predecessor completed, so it is definite
            my_task._set_state(TaskState.FUTURE)
        return super()._update_hook(my_task)  # type: ignore[misc]

    def _check_size(self, my_task: Any) -> None:
        """Refuse to start more instances than the limit (a cardinality of a million kept a web
        thread busy for minutes creating them)."""
        limits = getattr(my_task.workflow.top_workflow, "fg_limits", None) or DEFAULT_LIMITS
        # runs before Spiff's hook copies the parent's data in: read both
        variables = {**(my_task.parent.data if my_task.parent else {}), **my_task.data}
        if self.data_input is not None:
            items = variables.get(self.data_input.bpmn_id)
            if not isinstance(items, Collection):
                return  # Spiff reports a missing or unusable collection in its own words
            count = len(items)
        elif self.cardinality is not None:
            try:
                value = evaluate(self.cardinality, variables)
            except ExpressionError:
                return  # Spiff evaluates it again and reports the failure with the task
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                return
            try:
                count = int(value)
            except ValueError:
                return
        else:
            return
        if count > limits.max_multi_instance:
            raise WorkflowTaskException(
                f"This multi-instance activity would start {count:,} instances; one may start at "
                f"most {limits.max_multi_instance:,}. Split the work (for example into batches "
                "handled by a called process) or lower the number.",
                task=my_task,
            )

    def merge_child(self, workflow: Any, child: Any) -> None:
        my_task = child.parent
        super().merge_child(workflow, child)  # type: ignore[misc]
        self._forget_item(my_task)

    def _forget_item(self, my_task: Any) -> None:
        # Spiff merges each instance's data back, element variable included, and then refuses
        # to create the next instance because the element variable "already exists".
        if self.input_item is not None:
            my_task.data.pop(self.input_item.bpmn_id, None)
        my_task.data.pop("loopCounter", None)

    def create_child(self, my_task: Any, item: Any, key_or_index: Any = None) -> None:
        self._forget_item(my_task)
        super().create_child(my_task, item, key_or_index)  # type: ignore[misc]
        child = my_task.children[-1]
        index = len(list(self._instances(my_task))) - 1  # type: ignore[attr-defined]
        child.data["loopCounter"] = index

    def counters(self, my_task: Any) -> dict[str, int]:
        merged = set(my_task.internal_data.get("merged", []))
        instances = list(self._instances(my_task))  # type: ignore[attr-defined]
        child_spec = my_task.workflow.spec.task_specs.get(self.task_spec)
        ext = getattr(child_spec, "extensions", {}) or {}
        outcome_var = ext.get("outcome_variable", "outcome")
        approved = rejected = 0
        for child in instances:
            if str(child.id) in merged:
                decision = decision_of(child.data.get(outcome_var))
                approved += decision is True
                rejected += decision is False
        if isinstance(self, ParallelMultiInstanceTask):
            total = len(instances)
            active = len([c for c in instances if not c.has_state(TaskState.FINISHED_MASK)])
        else:
            cardinality = my_task.internal_data.get("cardinality")
            remaining = len(my_task.internal_data.get("remaining", []))
            total = (
                cardinality
                if cardinality is not None
                else len(merged)
                + remaining
                + (1 if any(not c.has_state(TaskState.FINISHED_MASK) for c in instances) else 0)
            )
            active = len([c for c in instances if not c.has_state(TaskState.FINISHED_MASK)])
        return {
            "nrOfInstances": total,
            "nrOfCompletedInstances": len(merged),
            "nrOfActiveInstances": active,
            "nrOfApproved": approved,
            "nrOfRejected": rejected,
        }

    def check_completion_condition(self, my_task: Any) -> bool:
        merged = my_task.internal_data.get("merged", [])
        if not merged or self.condition is None:
            return False
        last = next(c for c in my_task.children if str(c.id) == merged[-1])
        return bool(evaluate_in_task(last, self.condition, self.counters(my_task)))


class FlowgateParallelMultiInstance(_MultiInstanceCounters, ParallelMultiInstanceTask):
    pass


class FlowgateSequentialMultiInstance(_MultiInstanceCounters, SequentialMultiInstanceTask):
    pass


def message_definitions(task: Any) -> list[tuple[MessageEventDefinition, Any]]:
    """(message definition, owning spec) pairs a waiting task listens for."""
    spec = task.task_spec
    definition = getattr(spec, "event_definition", None)
    if isinstance(definition, MessageEventDefinition):
        return [(definition, spec)]
    found = []
    for idx, inner in enumerate(getattr(definition, "event_definitions", []) or []):
        if isinstance(inner, MessageEventDefinition):
            owner = spec.outputs[idx] if idx < len(spec.outputs) else spec
            found.append((inner, owner))
    return found


# --------------------------------------------------------------------------------------------
# Serializer
# --------------------------------------------------------------------------------------------


class ServiceTaskConverter(BpmnTaskSpecConverter):
    def to_dict(self, spec: Any) -> dict[str, Any]:
        dct = self.get_default_attributes(spec)
        dct["connector"] = spec.connector
        dct["input_mappings"] = spec.input_mappings
        dct["output_mappings"] = spec.output_mappings
        dct["max_attempts"] = spec.max_attempts
        return dct


def build_registry() -> Any:
    registry = BpmnWorkflowSerializer.configure()
    ServiceTaskConverter(FlowgateServiceTask, registry)
    ServiceTaskConverter(FlowgateBusinessRuleTask, registry)
    BpmnTaskSpecConverter(FlowgateUserTask, registry)
    BpmnTaskSpecConverter(FlowgateNoneTask, registry)
    BpmnTaskSpecConverter(FlowgateManualTask, registry)
    EventConverter(FlowgateStartEvent, registry)
    MultiInstanceTaskConverter(FlowgateParallelMultiInstance, registry)
    MultiInstanceTaskConverter(FlowgateSequentialMultiInstance, registry)
    for timer_class in TIMER_CLASSES.values():
        TimerConditionalEventDefinitionConverter(timer_class, registry)
    return registry


REGISTRY = build_registry()
