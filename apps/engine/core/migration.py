"""Move a running instance to another version of its process, in pure Python (no Django).

``migration_plan`` says, for a loaded instance, which elements are active, where each goes in the
new version, and every reason the instance cannot move; ``migrate`` moves it. The runtime
(``apps.engine.runtime.migration``) persists the moved instance through the write path.

SpiffWorkflow 3.2's ``SpiffWorkflow.bpmn.util.diff`` does the tree surgery (``migrate_workflow``:
re-point each task at its new spec, reset and re-predict the waiting steps) and the attribute
comparison (``SpecDiff._compare_task_specs``). Its alignment is by spec name plus a structural
guess; an operator's mapping replaces it here, and Spiff's internal spec names (a boundary
event's ``<task>.BoundaryEventSplit``, a multi-instance ``<task> [child]``) follow the mapping of
the element they belong to (decision record: docs/decisions/031-version-migration.md).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff, migrate_workflow
from SpiffWorkflow.util.task import TaskState

from .errors import EngineError
from .runner import Instance, ProcessRunner
from .runner.spiff import activity_type
from .specs import REGISTRY, FlowgateServiceTask

ACTIVE = TaskState.READY | TaskState.STARTED | TaskState.WAITING
#: Spiff's own spec names built from an element's name (the prefix follows the element's mapping).
INTERNAL_SUFFIXES = (".BoundaryEventSplit", ".BoundaryEventJoin", " [child]")
#: Attributes whose change does not change an element's scope (its place in the flow may move).
FLOW_ATTRIBUTES = frozenset({"inputs", "outputs", "name", "bpmn_name", "documentation", "lane"})


@dataclass(frozen=True)
class ActiveElement:
    activity_id: str
    type: str
    target: str | None
    target_type: str | None
    #: The subprocess or call activity the element runs in ("" in the main process).
    scope: str = ""


@dataclass(frozen=True)
class MigrationProblem:
    activity_id: str
    code: str
    message: str


@dataclass(frozen=True)
class MigrationPlan:
    active: list[ActiveElement] = field(default_factory=list)
    problems: list[MigrationProblem] = field(default_factory=list)

    @property
    def can_move(self) -> bool:
        return not self.problems


def _by_bpmn_id(spec: Any) -> dict[str, Any]:
    """bpmn id -> spec (a multi-instance's child spec shares its parent's id: the parent wins)."""
    result: dict[str, Any] = {}
    for task_spec in spec.task_specs.values():
        bpmn_id = getattr(task_spec, "bpmn_id", None)
        if bpmn_id is None or task_spec.name.endswith(" [child]"):
            continue
        result.setdefault(bpmn_id, task_spec)
    return result


def elements(runner: ProcessRunner) -> list[tuple[str, str, str]]:
    """(element id, type, name) of every element of ``runner``'s process and its subprocesses:
    the targets an operator may map an active element to."""
    found: dict[str, tuple[str, str, str]] = {}
    for spec in (runner.spec, *runner.subprocess_specs.values()):
        for bpmn_id, task_spec in _by_bpmn_id(spec).items():
            name = getattr(task_spec, "bpmn_name", None) or ""
            found.setdefault(bpmn_id, (bpmn_id, activity_type(task_spec), name))
    return sorted(found.values())


def align(old: Any, new: Any, mapping: Mapping[str, str]) -> dict[Any, Any]:
    """Old task spec -> new task spec (or None) by the operator's ``mapping`` of element ids
    (an id not in the mapping maps to itself)."""
    new_by_id = _by_bpmn_id(new)
    result: dict[Any, Any] = {}

    def target_of(task_spec: Any) -> Any:
        bpmn_id = getattr(task_spec, "bpmn_id", None)
        if task_spec.name.endswith(" [child]") and bpmn_id is not None:
            parent = new_by_id.get(mapping.get(bpmn_id, bpmn_id))
            return new.task_specs.get(f"{parent.name} [child]") if parent is not None else None
        if bpmn_id is not None:
            return new_by_id.get(mapping.get(bpmn_id, bpmn_id))
        for suffix in INTERNAL_SUFFIXES:
            if task_spec.name.endswith(suffix):
                owner = old.task_specs.get(task_spec.name[: -len(suffix)])
                owner_target = target_of(owner) if owner is not None else None
                if owner_target is None:
                    return None
                return new.task_specs.get(owner_target.name + suffix)
        return new.task_specs.get(task_spec.name)  # Start, End, Root, <process>.EndJoin

    for task_spec in old.task_specs.values():
        result[task_spec] = target_of(task_spec)
    return result


#: Recent spec diffs: every instance of a batch compares the same two cached specs.
_DIFFS: OrderedDict[tuple[int, int, tuple[tuple[str, str], ...]], tuple[Any, Any, SpecDiff]] = (
    OrderedDict()
)
_DIFFS_SIZE = 32
_DIFFS_LOCK = threading.Lock()


def _spec_diff(old: Any, new: Any, mapping: Mapping[str, str]) -> SpecDiff:
    """Spiff's SpecDiff with the operator's alignment instead of its own guess (cached per pair
    of specs and mapping; the entry holds both specs, so their ids stay theirs)."""
    key = (id(old), id(new), tuple(sorted(mapping.items())))
    with _DIFFS_LOCK:  # a batch may move instances in several threads
        cached = _DIFFS.get(key)
        if cached is not None and cached[0] is old and cached[1] is new:
            _DIFFS.move_to_end(key)
            return cached[2]
        diff = _new_spec_diff(old, new, mapping)
        _DIFFS[key] = (old, new, diff)
        while len(_DIFFS) > _DIFFS_SIZE:
            _DIFFS.popitem(last=False)
        return diff


def _new_spec_diff(old: Any, new: Any, mapping: Mapping[str, str]) -> SpecDiff:
    diff = SpecDiff(REGISTRY, old, new)
    diff.alignment = align(old, new, mapping)
    diff.comparisons = {
        o: diff._compare_task_specs(o, n) for o, n in diff.alignment.items() if n is not None
    }
    return diff


def _scope_changed(changes: list[str]) -> bool:
    return bool(set(changes) - FLOW_ATTRIBUTES)


def _subprocess_changed(old: Any, new: Any | None, mapping: Mapping[str, str]) -> bool:
    """A subprocess's or called process's spec changed in any way but names and documentation."""
    if new is None:
        return True
    diff = _spec_diff(old, new, mapping)
    if any(n is None for n in diff.alignment.values()):
        return True
    if {n.name for n in diff.alignment.values() if n is not None} != set(new.task_specs):
        return True
    return any(
        set(changes) - {"name", "bpmn_name", "documentation"} for changes in diff.changed.values()
    )


def _problem(plan: MigrationPlan, activity_id: str, code: str, message: str) -> None:
    plan.problems.append(MigrationProblem(activity_id, code, message))


def migration_plan(
    handle: Instance, new: ProcessRunner, mapping: Mapping[str, str], *, to_label: str = ""
) -> MigrationPlan:
    """Every active element of ``handle`` with its target in ``new``, and every reason the
    instance cannot move there. Changes nothing."""
    plan = MigrationPlan()
    wf = handle._wf
    to_label = to_label or "the new version"
    new_ids = set(_by_bpmn_id(new.spec))
    for sub in new.subprocess_specs.values():
        new_ids |= set(_by_bpmn_id(sub))
    for source, target in sorted(mapping.items()):
        if target not in new_ids:
            _problem(
                plan,
                source,
                "unknown_target",
                f"The mapping sends '{source}' to '{target}', which {to_label} does not have.",
            )
    top = _spec_diff(wf.spec, new.spec, mapping)
    changed_scopes: set[Any] = set()
    for sub_id, sub in wf.subprocesses.items():
        owner = wf.get_task_from_id(sub_id) if sub_id in wf.tasks else None
        owner_id = getattr(owner.task_spec, "bpmn_id", "") if owner is not None else ""
        new_sub = new.subprocess_specs.get(sub.spec.name)
        if _subprocess_changed(sub.spec, new_sub, mapping):
            changed_scopes.add(sub_id)
        _collect(plan, sub, sub_id in changed_scopes, owner_id or sub.spec.name, mapping, new_sub)
    _collect_top(plan, wf, top)
    return plan


def _collect_top(plan: MigrationPlan, wf: Any, diff: SpecDiff) -> None:
    for task in wf.get_tasks(state=ACTIVE, skip_subprocesses=True):
        spec = task.task_spec
        bpmn_id = getattr(spec, "bpmn_id", None)
        if bpmn_id is None:
            continue
        target = diff.alignment.get(spec)
        plan.active.append(
            ActiveElement(
                bpmn_id,
                activity_type(spec),
                getattr(target, "bpmn_id", None),
                activity_type(target) if target is not None else None,
            )
        )
        if target is None:
            _problem(
                plan,
                bpmn_id,
                "unmapped",
                f"The active element '{bpmn_id}' has no counterpart in the new version: map it "
                "to an element of the new version.",
            )
            continue
        changes = diff.comparisons.get(spec, [])
        if "typename" in changes:
            _problem(
                plan,
                bpmn_id,
                "type_changed",
                f"'{bpmn_id}' is a {activity_type(spec)} here and '{target.bpmn_id}' a "
                f"{activity_type(target)} in the new version: an active element keeps its type.",
            )
        elif isinstance(spec, LoopTask | SubWorkflowTask) and _scope_changed(changes):
            _problem(
                plan,
                bpmn_id,
                "scope_changed",
                f"'{bpmn_id}' is running and its {_scope_word(spec)} changed in the new version "
                f"({', '.join(sorted(set(changes) - FLOW_ATTRIBUTES))}): let it finish first.",
            )
        parent = task.parent
        if parent is not None and isinstance(parent.task_spec, LoopTask):
            parent_changes = diff.comparisons.get(parent.task_spec, ["removed"])
            if _scope_changed(parent_changes) or "typename" in parent_changes:
                _problem(
                    plan,
                    bpmn_id,
                    "scope_changed",
                    f"'{bpmn_id}' runs inside the multi-instance '{parent.task_spec.bpmn_id}', "
                    "which changed in the new version: let it finish first.",
                )


def _scope_word(spec: Any) -> str:
    if isinstance(spec, LoopTask):
        return "multi-instance"
    return "call activity" if type(spec).__name__.startswith("CallActivity") else "subprocess"


def _collect(
    plan: MigrationPlan,
    sub: Any,
    changed: bool,
    scope: str,
    mapping: Mapping[str, str],
    new_sub: Any | None,
) -> None:
    aligned = align(sub.spec, new_sub, mapping) if new_sub is not None else {}
    for task in sub.get_tasks(state=ACTIVE, skip_subprocesses=True):
        bpmn_id = getattr(task.task_spec, "bpmn_id", None)
        if bpmn_id is None:
            continue
        target = aligned.get(task.task_spec)
        plan.active.append(
            ActiveElement(
                bpmn_id,
                activity_type(task.task_spec),
                getattr(target, "bpmn_id", None),
                activity_type(target) if target is not None else None,
                scope=scope,
            )
        )
        if changed:
            _problem(
                plan,
                bpmn_id,
                "scope_changed",
                f"'{bpmn_id}' runs inside '{scope}', which changed in the new version: let it "
                "finish first.",
            )


def _prune(workflow: Any) -> None:
    """Take out the tasks whose element the new version no longer has (Spiff's
    ``migrate_workflow`` leaves them on the old spec, which the new version cannot load): a
    finished one is spliced out of the tree (its children move up to its parent), a predicted
    one goes with its predicted branch. The active ones were refused by the plan."""
    known = set(map(id, workflow.spec.task_specs.values()))
    for task in list(workflow.tasks.values()):
        if task.id not in workflow.tasks or id(task.task_spec) in known:
            continue
        parent = task.parent
        if task.has_state(TaskState.PREDICTED_MASK) or parent is None:
            for gone in list(task):
                workflow.tasks.pop(gone.id, None)
            if parent is not None:
                parent._children = [c for c in parent._children if c != task.id]
            continue
        position = parent._children.index(task.id)
        parent._children[position : position + 1] = list(task._children)
        for child in task.children:
            child._parent = parent.id
        workflow.tasks.pop(task.id)
    if workflow.last_task is not None and workflow.last_task.id not in workflow.tasks:
        workflow.last_task = None


def migrate(
    handle: Instance,
    new: ProcessRunner,
    mapping: Mapping[str, str],
    *,
    plan: MigrationPlan | None = None,
) -> Instance:
    """Move ``handle``'s workflow onto ``new``'s spec and return the handle on the new version,
    advanced until it waits. Its variables stay; its waiting steps (user tasks, service tasks
    whose job has not run) start again from the new model under their engine task ids; waiting
    timers keep their due time unless their definition changed (then they start again from
    now); message catches keep waiting (the runtime re-reads their correlation key). Raises ``EngineError`` when the plan has
    problems (``plan``: the one the caller already made for this handle)."""
    plan = plan or migration_plan(handle, new, mapping)
    if not plan.can_move:
        raise EngineError("; ".join(p.message for p in plan.problems))
    wf = handle._wf
    timers = {
        t.id: _timer_signature(t.task_spec)
        for t in handle._all_tasks()
        if t.state == TaskState.WAITING and _timer_signature(t.task_spec) is not None
    }
    diff = WorkflowDiff(wf, _spec_diff(wf.spec, new.spec, mapping))
    for sub in wf.subprocesses.values():
        new_sub = new.subprocess_specs[sub.spec.name]
        migrate_workflow(
            WorkflowDiff(sub, _spec_diff(sub.spec, new_sub, mapping)),
            sub,
            new_sub,
            reset_mask=TaskState.READY,
        )
    migrate_workflow(diff, wf, new.spec, reset_mask=TaskState.READY)
    wf.subprocess_specs = new.subprocess_specs
    for workflow in (wf, *wf.subprocesses.values()):
        _prune(workflow)
    # A started service task whose job has not run starts again: its inputs and connector come
    # from the new version (the runtime refuses a move while a job runs).
    for task in handle._all_tasks():
        if task.state == TaskState.STARTED and isinstance(task.task_spec, FlowgateServiceTask):
            task.reset_branch(None)
    # A waiting timer whose definition is unchanged keeps its due time; one whose definition
    # changed is armed again from now with the new version's value (decision 035).
    rearm = [
        t
        for t in handle._all_tasks()
        if t.id in timers
        and t.state == TaskState.WAITING
        and _timer_signature(t.task_spec) != timers[t.id]
    ]

    def arm_again() -> None:
        for task in rearm:
            task.internal_data.pop("event_value", None)
            task.task_spec._update(task)

    moved = Instance(new, wf, status=handle._status())
    moved._run(arm_again)
    return moved


def _timer_signature(spec: Any) -> tuple[str, str] | None:
    """A timer event's definition as (kind, expression), or None when ``spec`` is no timer."""
    definition = getattr(spec, "event_definition", None)
    if not isinstance(definition, TimerEventDefinition):
        return None
    return type(definition).__name__, str(definition.expression)


__all__ = [
    "ActiveElement",
    "MigrationPlan",
    "MigrationProblem",
    "align",
    "migrate",
    "migration_plan",
]
