"""Move a token of a loaded instance from one active element to any step of its model, forward or
back ("instance modification"), in pure Python (no Django).

SpiffWorkflow 3.2 can only rewind (``reset_from_task_id``: a completed task runs again and every
later step is dropped from the tree). A move here is our own small tree surgery instead, the same
in both directions: the active element's task (with its boundary events, or a subprocess's or
multi-instance's inner tasks) is cancelled, and a new task for the target is added under the
task the cancelled one followed, with the cancelled task's data; then the workflow advances. The
history stays in the tree (completed steps are kept, the cancelled one shows as cancelled), the
target gets a new engine task id, and every wait the caller keeps (inbox task, job, timer,
message subscription) follows from the effects before and after (decision record:
docs/decisions/035-move-token-and-migration-details.md).
"""

from __future__ import annotations

from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.util.task import TaskState

from .effects import Effects
from .errors import EngineError
from .runner import Instance
from .runner.spiff import activity_type

ACTIVE = TaskState.READY | TaskState.STARTED | TaskState.WAITING
GATEWAY_TYPES = ("ExclusiveGateway", "InclusiveGateway", "ParallelGateway", "EventBasedGateway")


class TokenMoveRefused(EngineError):
    """A move that cannot be made; ``code`` names the reason for the API."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Element:
    activity_id: str
    type: str
    name: str


@dataclass(frozen=True)
class Wait:
    """One wait the runtime keeps a row for: an inbox task, a job, a timer or a subscription."""

    kind: str  # user_task, job, timer, message
    activity_id: str
    detail: str = ""


@dataclass
class TokenMove:
    """What a move did (or, on a handle that is thrown away, would do)."""

    from_id: str
    to_id: str
    cancelled: list[str] = field(default_factory=list)
    entered: list[str] = field(default_factory=list)
    waits_removed: list[Wait] = field(default_factory=list)
    waits_created: list[Wait] = field(default_factory=list)
    waiting_before: list[str] = field(default_factory=list)
    waiting_after: list[str] = field(default_factory=list)


def _is_inner(task: Any) -> bool:
    """A multi-instance's or loop's own activation (its parent task is the loop)."""
    parent = task.parent
    return parent is not None and isinstance(parent.task_spec, LoopTask)


def active_elements(handle: Instance) -> list[Element]:
    """The elements of the main process a token can move away from: its active tasks, without
    boundary events (they belong to their activity), start events and a loop's inner
    activations (the loop itself is active)."""
    found: dict[str, Element] = {}
    for task in handle._wf.get_tasks(state=ACTIVE, skip_subprocesses=True):
        spec = task.task_spec
        bpmn_id = getattr(spec, "bpmn_id", None)
        if bpmn_id is None or isinstance(spec, BoundaryEvent | StartEvent) or _is_inner(task):
            continue
        found.setdefault(
            bpmn_id, Element(bpmn_id, activity_type(spec), getattr(spec, "bpmn_name", "") or "")
        )
    return sorted(found.values(), key=lambda e: e.activity_id)


def _refusal(spec: Any) -> tuple[str, str] | None:
    """Why a token cannot move to ``spec`` of the main process (None: it can)."""
    bpmn_id = spec.bpmn_id
    if isinstance(spec, BoundaryEvent):
        return (
            "boundary_event",
            f"'{bpmn_id}' is a boundary event: it fires from its activity; move the token to "
            "the activity or to the step after the event.",
        )
    if isinstance(spec, StartEvent):
        return (
            "start_event",
            f"'{bpmn_id}' is a start event: move the token to the step after it.",
        )
    if activity_type(spec) in GATEWAY_TYPES and len(spec.inputs) > 1:
        return (
            "joining_gateway",
            f"'{bpmn_id}' is a gateway that joins several branches: a token moved there would "
            "wait for the others; move it to the step after the gateway.",
        )
    return None


def _main_specs(handle: Instance) -> dict[str, Any]:
    """bpmn id -> spec of the main process (a multi-instance's inner spec shares its id)."""
    result: dict[str, Any] = {}
    for spec in handle._wf.spec.task_specs.values():
        bpmn_id = getattr(spec, "bpmn_id", None)
        if bpmn_id is not None and not spec.name.endswith(" [child]"):
            result.setdefault(bpmn_id, spec)
    return result


def move_targets(handle: Instance) -> list[Element]:
    """Every step of the main process a token may move to, by id."""
    return sorted(
        (
            Element(bpmn_id, activity_type(spec), getattr(spec, "bpmn_name", "") or "")
            for bpmn_id, spec in _main_specs(handle).items()
            if _refusal(spec) is None
        ),
        key=lambda e: e.activity_id,
    )


def _inner_owner(handle: Instance, activity_id: str) -> str | None:
    """The element of the main process whose inside holds ``activity_id`` (a subprocess, call
    activity or multi-instance body), or None."""
    runner = handle._runner
    for name, sub in runner.subprocess_specs.items():
        ids = {getattr(s, "bpmn_id", None) for s in sub.task_specs.values()}
        if activity_id not in ids:
            continue
        for spec in handle._wf.spec.task_specs.values():
            if isinstance(spec, SubWorkflowTask) and getattr(spec, "spec", None) == name:
                return spec.bpmn_id
        return name
    return None


def _target(handle: Instance, to_id: str) -> Any:
    spec = _main_specs(handle).get(to_id)
    if spec is None:
        owner = _inner_owner(handle, to_id)
        if owner is not None:
            raise TokenMoveRefused(
                f"'{to_id}' is inside '{owner}' (a subprocess, call activity or multi-instance "
                f"body): move the token to '{owner}' itself, which starts it from its beginning.",
                code="inside_scope",
            )
        raise TokenMoveRefused(
            f"This process has no step '{to_id}'.",
            code="unknown_target",
        )
    refusal = _refusal(spec)
    if refusal is not None:
        raise TokenMoveRefused(refusal[1], code=refusal[0])
    return spec


def _source(handle: Instance, from_id: str) -> Any:
    candidates = [
        t
        for t in handle._wf.get_tasks(state=ACTIVE, skip_subprocesses=True)
        if getattr(t.task_spec, "bpmn_id", None) == from_id and not _is_inner(t)
    ]
    if not candidates:
        active = ", ".join(e.activity_id for e in active_elements(handle)) or "none"
        inner = any(
            getattr(t.task_spec, "bpmn_id", None) == from_id
            for t in handle._all_tasks()
            if t.state & ACTIVE
        )
        where = (
            " (it is active inside a subprocess or multi-instance: move that element instead)"
            if inner
            else ""
        )
        raise TokenMoveRefused(
            f"'{from_id}' is not an active element of this instance's main process{where}. "
            f"Active: {active}.",
            code="not_active",
        )
    if len(candidates) > 1:
        raise TokenMoveRefused(
            f"'{from_id}' is active {len(candidates)} times (parallel branches): a token move "
            "needs one.",
            code="ambiguous_source",
        )
    task = candidates[0]
    if isinstance(task.task_spec, BoundaryEvent | StartEvent):
        raise TokenMoveRefused(
            f"'{from_id}' is an event waiting for its activity or for a start: move the "
            "activity's token instead.",
            code="not_active",
        )
    return task


def _entry_spec(target: Any) -> Any:
    """The spec a token enters ``target`` through: a task with boundary events is entered by
    Spiff's split that also arms the events."""
    for spec in target.inputs:
        if isinstance(spec, BoundaryEventSplit) and target in spec.outputs:
            return spec
    return target


def _waits(effects: Effects) -> dict[str, Wait]:
    """Task id + kind -> wait, from an instance's effects."""
    result: dict[str, Wait] = {}
    for u in effects.user_tasks:
        result[f"user_task:{u.task_id}"] = Wait("user_task", u.activity_id, u.name)
    for s in effects.service_tasks:
        result[f"job:{s.task_id}"] = Wait("job", s.activity_id, s.connector)
    for t in effects.timers:
        result[f"timer:{t.task_id}:{t.activity_id}"] = Wait(
            "timer", t.activity_id, t.due_at.isoformat()
        )
    for m in effects.message_waits:
        result[f"message:{m.task_id}:{m.activity_id}"] = Wait(
            "message", m.activity_id, m.message_name
        )
    return result


def _waiting_at(effects: Effects) -> list[str]:
    return sorted(
        {u.activity_id for u in effects.user_tasks}
        | {s.activity_id for s in effects.service_tasks}
        | {m.activity_id for m in effects.message_waits}
        | {t.activity_id for t in effects.timers}
    )


def token_move(handle: Instance, from_id: str, to_id: str) -> TokenMove:
    """Move the token of the active element ``from_id`` to the step ``to_id`` of the main process
    and advance. Raises ``TokenMoveRefused`` (with a code) when either end is not allowed.
    ``handle`` is changed in place; on a copy that is not persisted this is the preview."""
    if handle._cancelled or handle._status() in ("completed", "cancelled"):
        raise TokenMoveRefused("The instance has ended: no token to move.", code="ended")
    source = _source(handle, from_id)
    target = _target(handle, to_id)
    before = handle.effects()
    first_event = len(handle._events)
    wf = handle._wf
    unit = source.parent if isinstance(source.parent.task_spec, BoundaryEventSplit) else source
    anchor = unit.parent
    data = deepcopy(source.data)
    subprocess = wf.subprocesses.get(source.id)
    if subprocess is not None and subprocess.last_task is not None:
        data.update(deepcopy(subprocess.last_task.data))

    def act() -> None:
        owners = [t for t in unit if t.id in wf.subprocesses]
        for task in reversed([t for t in unit if t.state & ACTIVE]):
            if task.state & ACTIVE:  # deepest first, so each one's cancel hook runs
                task.cancel()
        unit.cancel()
        for owner in owners:
            if owner.id in wf.subprocesses:
                wf.delete_subprocess(owner)
        entered = anchor._add_child(_entry_spec(target), TaskState.FUTURE)
        entered.task_spec._predict(entered, mask=TaskState.PREDICTED_MASK | TaskState.FUTURE)
        # The new task inherits the moved token's data, not the (older) data of the task it is
        # attached under: Spiff merges the parent's data over the child's, so lend it ours.
        kept, anchor.data = anchor.data, data
        try:
            entered.task_spec._update(entered)
        finally:
            anchor.data = kept
        wf.last_task = anchor

    handle._run(act)
    after = handle.effects()
    old, new = _waits(before), _waits(after)
    events = handle._events[first_event:]
    return TokenMove(
        from_id=from_id,
        to_id=to_id,
        cancelled=[e.activity_id for e in events if e.kind == "cancelled"],
        entered=[e.activity_id for e in events if e.kind == "entered"],
        waits_removed=[w for key, w in old.items() if key not in new],
        waits_created=[w for key, w in new.items() if key not in old],
        waiting_before=_waiting_at(before),
        waiting_after=_waiting_at(after),
    )


__all__ = [
    "Element",
    "TokenMove",
    "TokenMoveRefused",
    "Wait",
    "active_elements",
    "move_targets",
    "token_move",
]
