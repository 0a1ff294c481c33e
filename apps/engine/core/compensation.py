"""BPMN compensation at run time (SpiffWorkflow 3.2 has none; decision 034).

The model transform (``compensation_model``) turns every compensation throw event into a
*sequential multi-instance subprocess*, ``FlowgateCompensationThrow``, whose instances each run one
handler: an exclusive gateway inside dispatches on ``compensation["handler"]`` to a copy of the
handler activity. Handlers are therefore ordinary engine steps (jobs with retries and incidents,
user tasks in the inbox) and the sequence is Spiff's own multi-instance bookkeeping, saved with the
instance state in the same transaction as every job result.

The record lives in the top workflow's data under ``fg_compensation`` (also saved with the state):

* ``activations``: one entry per completed activation of a compensable activity (and of a
  subprocess holding compensable work), in completion order, with its outputs (the variables the
  activation set or changed) and a state: completed -> compensating -> compensated;
* ``runs``: one entry per compensation throw: the activations it undoes, in order, running ->
  finished;
* ``cancel``: an operator asked to cancel with compensation.

A throw takes only activations in state ``completed`` and moves them to ``compensating`` at once,
so no two throws undo the same activation; the handler's completion moves it to ``compensated``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from SpiffWorkflow.bpmn.serializer.default.task_spec import MultiInstanceTaskConverter
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.util.task import TaskState

from .effects import CompensationEvent
from .specs import REGISTRY, FlowgateSequentialMultiInstance

RECORD_KEY = "fg_compensation"
QUEUE_VARIABLE = "fg_compensation_queue"
COMPENSATION_VARIABLE = "compensation"
CANCEL_SIGNAL = "fg_cancel_with_compensation"
CANCEL_SUBPROCESS_ID = "fg_cancel_compensation"
CANCEL_UNDO_ID = f"{CANCEL_SUBPROCESS_ID}__undo"
PRESET_KEY = "fg_variables"
_INTERNAL = {RECORD_KEY, QUEUE_VARIABLE, COMPENSATION_VARIABLE, "data_objects", "loopCounter"}
_MISSING = object()


def record_of(workflow: Any) -> dict[str, Any]:
    """The compensation record of ``workflow``'s instance (created empty on first use)."""
    top = workflow.top_workflow
    record = top.data.get(RECORD_KEY)
    if record is None:
        record = {"seq": 0, "activations": [], "runs": [], "cancel": False}
        top.data[RECORD_KEY] = record
    return record


def read_record(data: Mapping[str, Any]) -> dict[str, Any]:
    """The record in a top workflow's data, without creating it."""
    record = data.get(RECORD_KEY)
    return record if isinstance(record, dict) else {"activations": [], "runs": [], "cancel": False}


def start_cancel_step(workflow: Any, variables: Mapping[str, Any]) -> None:
    """Cancel every open task and start the cancel step (``CANCEL_UNDO_ID``) with
    ``variables``. The caller advances the workflow afterwards."""
    record = record_of(workflow)
    record["cancel"] = True
    workflow.cancel()
    workflow.completed = False
    spec = workflow.spec.task_specs[CANCEL_UNDO_ID]
    task = workflow.task_tree._add_child(spec, TaskState.FUTURE)
    task.internal_data[PRESET_KEY] = dict(variables)
    spec._update(task)


def cancel_finished(data: Mapping[str, Any]) -> bool:
    """True once a cancel with compensation has undone everything (the instance is cancelled)."""
    record = read_record(data)
    return bool(record.get("cancel")) and any(
        run["throw"] == CANCEL_UNDO_ID and run["state"] == "finished" for run in record["runs"]
    )


Snapshot = tuple[dict[str, str], dict[str, str]]


def snapshot(data: Mapping[str, Any]) -> Snapshot:
    """The states of the activations and runs in a top workflow's data (to diff after a run)."""
    record = read_record(data)
    return (
        {a["id"]: a["state"] for a in record["activations"]},
        {r["id"]: r["state"] for r in record["runs"]},
    )


def changes(before: Snapshot, data: Mapping[str, Any]) -> list[CompensationEvent]:
    """What the compensation did since ``before``: started runs, undone activations (in the
    order their handlers completed), finished runs."""
    record = read_record(data)
    activations, runs = before
    by_id = {a["id"]: a for a in record["activations"]}
    events: list[CompensationEvent] = []
    for run in record["runs"]:
        if run["id"] not in runs:
            events.append(CompensationEvent("started", _run_data(run, by_id)))
    undone = [
        a
        for a in record["activations"]
        if a["state"] == "compensated"
        and activations.get(a["id"]) != "compensated"
        and a.get("handler")
    ]
    for activation in sorted(undone, key=lambda a: a.get("compensated_seq", 0)):
        events.append(
            CompensationEvent(
                "handler",
                {
                    "activation": activation["id"],
                    "activity_id": activation["activity"],
                    "handler": activation["handler"],
                    "outputs": copy.deepcopy(activation["outputs"]),
                },
            )
        )
    for run in record["runs"]:
        if run["state"] == "finished" and runs.get(run["id"]) != "finished":
            events.append(CompensationEvent("finished", _run_data(run, by_id)))
    return events


def _run_data(run: Mapping[str, Any], by_id: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "run": run["id"],
        "throw": run["throw"],
        "scope": run["scope"],
        "activations": [
            {
                "activation": key,
                "activity_id": by_id[key]["activity"],
                "name": by_id[key].get("name") or by_id[key]["activity"],
            }
            for key in run["activations"]
            if key in by_id
        ],
    }


def scope_of(task: Any) -> str:
    """'' for the process itself, else the id of the subprocess task the task runs in."""
    workflow = task.workflow
    return "" if workflow is workflow.top_workflow else str(workflow.parent_task_id)


def _outputs(task: Any) -> dict[str, Any]:
    before = task.parent.data if task.parent is not None else {}
    return {
        key: copy.deepcopy(value)
        for key, value in task.data.items()
        if key not in _INTERNAL and before.get(key, _MISSING) != value
    }


def activation_completed(workflow: Any, task: Any) -> None:
    """``completed_event`` receiver of compensable activities: record the activation."""
    if isinstance(task.task_spec, LoopTask):
        return  # a loop or multi-instance records each of its instances, not itself
    record = record_of(task.workflow)
    key = str(task.id)
    if any(a["id"] == key for a in record["activations"]):
        return
    record["seq"] += 1
    record["activations"].append(
        {
            "id": key,
            "activity": task.task_spec.bpmn_id,
            "name": task.task_spec.bpmn_name or task.task_spec.bpmn_id,
            "scope": scope_of(task),
            "seq": record["seq"],
            "outputs": _outputs(task),
            "state": "completed",
        }
    )


def handler_completed(workflow: Any, task: Any) -> None:
    """``completed_event`` receiver of handler copies: the activation is compensated."""
    item = task.data.get(COMPENSATION_VARIABLE)
    if not isinstance(item, Mapping):
        return
    record = record_of(task.workflow)
    for activation in record["activations"]:
        if activation["id"] == item.get("activation") and activation["state"] == "compensating":
            record["seq"] += 1
            activation["state"] = "compensated"
            activation["compensated_seq"] = record["seq"]
            activation["handler"] = model_id(task.task_spec)


MODEL_ID_ATTRIBUTE = "fg_model_id"


def model_id(task_spec: Any) -> str:
    """The modeller's element id of a task spec: a handler copy's ``CancelHotel__2`` is
    ``CancelHotel``. What people read (jobs, inbox tasks, steps, audit); the engine's own
    look-ups (token moves, migration) keep the spec's ``bpmn_id``."""
    return getattr(task_spec, MODEL_ID_ATTRIBUTE, None) or task_spec.bpmn_id


def connect_receivers(specs: Iterable[Any], plan: Mapping[str, Any]) -> None:
    """Connect the recorders to the task specs of one process version (once per runner), and
    tell each handler copy's specs the modeller's element id (``model_id``)."""
    recorded = set(plan.get("compensable", [])) | set(plan.get("containers", []))
    handlers = set(plan.get("handler_ids", []))
    copies = plan.get("copies", {})
    for spec in specs:
        for task_spec in spec.task_specs.values():
            bpmn_id = getattr(task_spec, "bpmn_id", None)
            if bpmn_id in copies:
                setattr(task_spec, MODEL_ID_ATTRIBUTE, copies[bpmn_id])
            if bpmn_id in recorded:
                _connect_first(task_spec.completed_event, activation_completed)
            if bpmn_id in handlers:
                _connect_first(task_spec.completed_event, handler_completed)


def _connect_first(event: Any, receiver: Any) -> None:
    """Run ``receiver`` before the receivers Spiff connected when it restored the spec: a
    multi-instance merges each instance's data into its parent in its own receiver, after which
    the instance's outputs can no longer be told from what it inherited."""
    if event.is_connected(receiver):
        return
    event.hard_subscribers = [(receiver, (), {}), *(event.hard_subscribers or [])]


class FlowgateCompensationThrow(FlowgateSequentialMultiInstance):
    """A compensation throw event: one sequential instance per activation to undo.

    ``handlers`` maps a compensable activity id (in this throw's reach) to the id of its handler
    copy inside this subprocess; ``activity_ref`` limits the throw to one activity; ``top`` is
    the operator's cancel-with-compensation (the whole process, from an event subprocess).
    """

    def __init__(
        self,
        wf_spec: Any,
        bpmn_id: str,
        handlers: Mapping[str, str] | None = None,
        activity_ref: str | None = None,
        top: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.handlers = dict(handlers or {})
        self.activity_ref = activity_ref
        self.top = top

    def init_remaining_items(self, my_task: Any) -> Any:
        # the cancel step starts outside the flow: it gets the variables from the canceller
        my_task.data.update(my_task.internal_data.pop(PRESET_KEY, None) or {})
        queue = self.build_queue(my_task)
        my_task.data[QUEUE_VARIABLE] = queue
        return super().init_remaining_items(my_task)

    def build_queue(self, my_task: Any) -> list[dict[str, Any]]:
        """Claim the completed activations in reach, newest first (reverse completion order)."""
        record = record_of(my_task.workflow)
        scope = "" if self.top else scope_of(my_task)
        queue: list[dict[str, Any]] = []

        def expand(scope_key: str | None, ref: str | None) -> None:
            found = [
                a
                for a in record["activations"]
                if (scope_key is None or a["scope"] == scope_key)
                and a["state"] == "completed"
                and (ref is None or a["activity"] == ref)
            ]
            for activation in sorted(found, key=lambda a: a["seq"], reverse=True):
                handler = self.handlers.get(activation["activity"])
                if handler is None:
                    if not self.top:
                        expand(activation["id"], None)  # a subprocess: undo its inner work
                    activation["state"] = "compensated"
                    continue
                activation["state"] = "compensating"
                queue.append(
                    {
                        "activity": activation["activity"],
                        "activation": activation["id"],
                        "handler": handler,
                        "outputs": copy.deepcopy(activation["outputs"]),
                    }
                )

        # the operator's cancel undoes everything completed, also inside cancelled subprocesses
        expand(None if self.top else scope, self.activity_ref)
        record["runs"].append(
            {
                "id": str(my_task.id),
                "throw": self.bpmn_id,
                "scope": scope,
                "activations": [item["activation"] for item in queue],
                "activity_ref": self.activity_ref,
                "top": self.top,
                "at": record["seq"],  # the activations completed before this run are in reach
                "state": "running",
            }
        )
        return queue

    def _on_complete_hook(self, my_task: Any) -> None:
        super()._on_complete_hook(my_task)
        my_task.data.pop(QUEUE_VARIABLE, None)
        my_task.data.pop(COMPENSATION_VARIABLE, None)
        for run in record_of(my_task.workflow)["runs"]:
            if run["id"] == str(my_task.id):
                run["state"] = "finished"


class CompensationThrowConverter(MultiInstanceTaskConverter):
    def to_dict(self, spec: Any) -> dict[str, Any]:
        dct = super().to_dict(spec)
        dct["handlers"] = dict(spec.handlers)
        dct["activity_ref"] = spec.activity_ref
        dct["top"] = spec.top
        return dct


CompensationThrowConverter(FlowgateCompensationThrow, REGISTRY)
