"""``ProcessRunner`` (one per process version) and ``Instance`` (one per call): starting, loading
and dumping an instance, and the operations that advance it."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import ErrorEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from ..approvals import DECISION_VARIABLE, decision_of
from ..business_time import BusinessCalendar
from ..compensation import changes, connect_receivers, record_of, snapshot, start_cancel_step
from ..effects import (
    ActivityEvent,
    CompensationEvent,
    SentMessage,
)
from ..errors import (
    EngineError,
    TaskDataError,
    TaskNotFound,
    TaskStateError,
)
from ..expressions import ExpressionError
from ..limits import DEFAULT_LIMITS, EngineLimits, Halt
from ..limits import advance as advance_workflow
from ..specs import (
    APPROVED,
    REGISTRY,
    REJECTED,
    SCRIPT_ENGINE,
    FlowgateServiceTask,
    FlowgateUserTask,
    ScriptRefusedError,
)
from ..state import decode_state, encode_state
from .observe import InstanceView
from .spiff import (
    encode_default,
    is_visible,
    json_safe,
    runtime_error,
)

STATE_FORMAT = 1


class ProcessRunner:
    """Holds the deserialized spec of one process version; cheap to keep in a cache."""

    def __init__(
        self,
        spec_json: str,
        *,
        clock: Callable[[], datetime] | None = None,
        limits: EngineLimits = DEFAULT_LIMITS,
    ) -> None:
        document = json.loads(spec_json)
        if document.get("format") != 1:
            raise EngineError(f"Unsupported spec format {document.get('format')!r}.")
        self.process_id: str = document["process_id"]
        self.spec = REGISTRY.restore(document["spec"])
        self.subprocess_specs = {
            name: REGISTRY.restore(sub) for name, sub in document["subprocess_specs"].items()
        }
        self.compensation: dict[str, Any] = document.get("compensation") or {}
        connect_receivers([self.spec, *self.subprocess_specs.values()], self.compensation)
        self.internal_ids = frozenset(self.compensation.get("internal", []))
        self.clock = clock
        self.limits = limits
        # bpmn id of a timer -> the business calendar its "N business days" count in (set by
        # the runtime, which knows the calendars; None: business time raises on that timer)
        self.business_calendar: Callable[[str], BusinessCalendar | None] | None = None
        self._start_events = {
            ts.bpmn_id: ts for ts in self.spec.bpmn_start_events if ts.bpmn_id is not None
        }

    def start(
        self,
        variables: Mapping[str, Any],
        *,
        start_event_id: str | None = None,
        message: tuple[str, Mapping[str, Any]] | None = None,
    ) -> Instance:
        """Create an instance and advance it until it waits.

        ``start_event_id`` picks a start event (a timer start fired by the runtime); ``message``
        = (name, payload) starts through the message start event of that name, the payload
        joining the variables. Without either, the process must have a none start event.
        """
        forced: str | None = start_event_id
        payload: dict[str, Any] | None = None
        if message is not None:
            name, payload = message[0], dict(message[1])
            matches = [
                ts.bpmn_id
                for ts in self._start_events.values()
                if isinstance(ts.event_definition, MessageEventDefinition)
                and ts.event_definition.name == name
            ]
            if not matches:
                raise EngineError(f"This process does not start on the message '{name}'.")
            forced = matches[0]
        elif forced is not None and forced not in self._start_events:
            raise EngineError(f"'{forced}' is not a start event of this process.")
        elif forced is None and not any(
            type(ts.event_definition).__name__ == "NoneEventDefinition"
            for ts in self._start_events.values()
        ):
            raise EngineError(
                "This process starts only on a timer or a message: name the start event."
            )
        workflow = BpmnWorkflow(self.spec, self.subprocess_specs, script_engine=SCRIPT_ENGINE)
        workflow.fg_limits = self.limits
        workflow.fg_business_calendar = self.business_calendar
        workflow.task_tree.data.update(json_safe(dict(variables)))
        instance = Instance(self, workflow, status="running")
        instance._run(lambda: None, forced_start=forced, start_payload=payload)
        return instance

    def load(self, state: str) -> Instance:
        try:
            document = json.loads(state)
        except ValueError as exc:
            raise EngineError("The stored instance state is not valid JSON.") from exc
        if not isinstance(document, dict) or document.get("v") != STATE_FORMAT:
            version = document.get("v") if isinstance(document, dict) else None
            raise EngineError(f"Unsupported instance state format {version!r}.")
        try:
            workflow = decode_state(document["wf"], self.spec, self.subprocess_specs)
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise EngineError(
                f"The stored instance state does not fit this process version ({exc!r})."
            ) from exc
        workflow.fg_limits = self.limits
        workflow.fg_business_calendar = self.business_calendar
        return Instance(self, workflow, status=document.get("status", "running"))


class Instance(InstanceView):
    """A handle on one workflow instance; obtain it from ``ProcessRunner.start`` or ``load``."""

    def __init__(self, runner: ProcessRunner, workflow: Any, *, status: str) -> None:
        self._runner = runner
        self._wf = workflow
        self._cancelled = status == "cancelled"
        self._events: list[ActivityEvent] = []
        self._sent: list[SentMessage] = []
        self._compensation: list[CompensationEvent] = []
        self._internal = runner.internal_ids
        self._halted: Halt | None = None

    # -- persistence ----------------------------------------------------------------------------

    def dump(self) -> str:
        """The instance state only (the spec stays with the version), as compact JSON."""
        document = {"v": STATE_FORMAT, "status": self._status(), "wf": encode_state(self._wf)}
        return json.dumps(document, separators=(",", ":"), default=encode_default)

    # -- operations -----------------------------------------------------------------------------

    def complete_user_task(self, task_id: str, data: Mapping[str, Any]) -> None:
        task = self._task(task_id)
        if not isinstance(task.task_spec, FlowgateUserTask):
            raise TaskStateError(f"Task {task_id} is not a user task.")
        self._require_state(task, TaskState.READY, "completed")
        ext = getattr(task.task_spec, "extensions", {}) or {}
        if ext.get("approval"):
            variable = ext.get("outcome_variable", "outcome")
            # 'approved' is a boolean wherever it appears (apps.engine.core.approvals)
            if DECISION_VARIABLE in data and not isinstance(data[DECISION_VARIABLE], bool):
                raise TaskDataError(f"This is an approval: '{DECISION_VARIABLE}' is true or false.")
            if decision_of(data.get(variable)) is None:
                raise TaskDataError(
                    f"This is an approval: set '{variable}' to '{APPROVED}' or '{REJECTED}'."
                )

        def act() -> None:
            task.set_data(**json_safe(dict(data)))
            task.run()

        self._run(act)

    def complete_service_task(self, task_id: str, result: Any) -> None:
        task = self._service_task(task_id)

        def act() -> None:
            task.task_spec.apply_result(task, json_safe(result))
            task.complete()

        self._run(act)

    def fail_service_task(self, task_id: str, *, error_code: str, message: str) -> bool:
        """Route a business error to a matching BPMN error event; False if nothing catches it."""
        task = self._service_task(task_id)
        definition = ErrorEventDefinition(error_code, error_code)
        event = BpmnEvent(
            definition,
            payload={"errorCode": error_code, "errorMessage": message},
            target=task.workflow,
        )
        if not self._has_error_handler(task, event):
            return False
        self._run(lambda: self._wf.catch(event))
        return True

    def fire_due_timers(self, now: datetime) -> None:
        """Fire every timer due at ``now`` (an aware datetime) and advance."""
        if now.tzinfo is None:
            raise EngineError("fire_due_timers needs an aware datetime.")
        self._run(self._wf.refresh_timers, now=now.astimezone(UTC))

    def correlate_message(
        self, name: str, payload: Mapping[str, Any], correlation_key: str | None = None
    ) -> bool:
        """Deliver a message to the first wait for ``name`` whose key matches; False if none."""
        for wait in self._message_waits():
            if wait.message_name != name:
                continue
            if wait.correlation_key is not None and wait.correlation_key != correlation_key:
                continue
            task = self._task(wait.task_id)
            event = BpmnEvent(MessageEventDefinition(name), payload=json_safe(dict(payload)))

            def act(task: Any = task, event: Any = event) -> None:
                task.task_spec.catch(task, event)
                task.task_spec._update(task)

            self._run(act)
            return True
        return False

    def resume(self) -> None:
        """Run the ready steps a limit stopped (``Effects.halted``), with a fresh budget."""
        if self._cancelled:
            raise TaskStateError("The instance is cancelled.")
        self._run(lambda: None)

    def cancel_with_compensation(self) -> bool:
        """Interrupt the instance and undo its completed compensable work; it ends cancelled
        when the handlers are done. False (nothing done) when its process has no compensation:
        cancel it plainly then."""
        if self._cancelled:
            raise TaskStateError("The instance is cancelled.")
        if not self._runner.compensation.get("compensable"):
            return False
        record = record_of(self._wf)
        if record.get("cancel"):
            raise TaskStateError("The instance is already being cancelled with compensation.")

        variables = self.variables()
        self._run(lambda: start_cancel_step(self._wf, variables))
        return True

    def cancel(self) -> None:
        def act() -> None:
            self._wf.cancel()
            self._cancelled = True

        self._run(act, advance=False)

    # -- internals ------------------------------------------------------------------------------

    def _task(self, task_id: str) -> Any:
        try:
            key = UUID(str(task_id))
        except ValueError as exc:
            raise TaskNotFound(f"'{task_id}' is not a task id.") from exc
        task = self._wf.tasks.get(key)
        if task is None:
            for sub in self._wf.subprocesses.values():
                task = sub.tasks.get(key)
                if task is not None:
                    break
        if task is None:
            raise TaskNotFound(f"Task {task_id} does not exist in this instance.")
        return task

    def _service_task(self, task_id: str) -> Any:
        task = self._task(task_id)
        if not isinstance(task.task_spec, FlowgateServiceTask):
            raise TaskStateError(f"Task {task_id} is not a service task.")
        self._require_state(task, TaskState.STARTED, "completed or failed")
        return task

    def _require_state(self, task: Any, state: int, action: str) -> None:
        if self._cancelled:
            raise TaskStateError("The instance is cancelled.")
        if task.state != state:
            raise TaskStateError(
                f"Task {task.id} ({task.task_spec.bpmn_id}) cannot be {action}: it is "
                f"{TaskState.get_name(task.state).lower()}."
            )

    def _now(self) -> datetime:
        return self._runner.clock() if self._runner.clock is not None else datetime.now(UTC)

    def _run(
        self,
        action: Callable[[], Any],
        *,
        now: datetime | None = None,
        advance: bool = True,
        forced_start: str | None = None,
        start_payload: dict[str, Any] | None = None,
    ) -> None:
        wf = self._wf
        wf.fg_now = now if now is not None else self._now()
        wf.fg_forced_start = forced_start
        wf.fg_start_payload = start_payload
        before = {t.id: t.state for t in self._all_tasks() if is_visible(t)}
        compensation_before = snapshot(wf.data)
        try:
            action()
            self._halted = advance_workflow(wf, self._runner.limits) if advance else None
        except EngineError:
            raise
        except (
            SpiffWorkflowException,
            ScriptRefusedError,
            ArithmeticError,
            ValueError,
            TypeError,
            KeyError,
        ) as exc:
            raise runtime_error(exc) from exc
        except Exception as exc:
            if isinstance(exc, ExpressionError):
                raise runtime_error(exc) from exc
            raise
        finally:
            wf.fg_forced_start = None
            wf.fg_start_payload = None
        for event in wf.get_events():
            if isinstance(event.event_definition, MessageEventDefinition):
                self._sent.append(
                    SentMessage(event.event_definition.name, json_safe(event.payload or {}))
                )
        self._record_events(before, wf.fg_now)
        self._compensation.extend(changes(compensation_before, wf.data))
        wf.fg_now = None

    def _has_error_handler(self, task: Any, event: Any) -> bool:
        manager = self._wf.event_manager
        target = task.workflow
        while target is not None:
            for waiting in manager.tasks.values():
                if waiting.workflow is target and waiting.task_spec.event_definition.catches(
                    waiting, event
                ):
                    return True
            target = target.parent_workflow
        return False
