"""Invariant: a completed instance reached an end event.

The engine marks an instance completed when Spiff says its workflow is finished, and Spiff
decides that with a task iterator that stops at depth 1,000: a long loop can look finished
without any end event having run (a 1,000-step loop once ended "completed" with its variables
erased). This check does not ask Spiff. It reads the stored state's task table directly: the
top-level process finished only if its ``End`` task completed (every path reached an end event)
or one of its terminate end events completed (which cancels the rest, ``End`` included).

It reads two stored documents of the engine: the instance state (``apps.engine.core.state``:
``{"v", "status", "wf": {"tasks": [[id, parent, state, spec name, ...], ...]}}``) and the
version's compiled spec (Spiff's serialized spec: ``task_specs`` by name with ``typename``).
"""

from __future__ import annotations

import json
from functools import lru_cache

from apps.engine.models import InstanceStatus, ProcessInstance
from apps.invariants.violations import Context, Violation

# Spiff's TaskState.COMPLETED (SpiffWorkflow.util.task); the stored state keeps the raw number.
COMPLETED = 64
# The task Spiff adds after the process's end join: completed when every path has ended.
PROCESS_END = "End"


@lru_cache(maxsize=64)
def _terminate_ends(version_id: int, spec_json: str) -> frozenset[str]:
    """Names of the top-level terminate end events of a version (each ends the process alone)."""
    try:
        specs = json.loads(spec_json)["spec"]["task_specs"]
    except (ValueError, KeyError, TypeError):
        return frozenset()
    return frozenset(
        name
        for name, spec in specs.items()
        if isinstance(spec, dict)
        and spec.get("typename") == "EndEvent"
        and (spec.get("event_definition") or {}).get("typename") == "TerminateEventDefinition"
    )


def _completed_tasks(state: str) -> set[str] | None:
    """Spec names of the top-level tasks the stored state shows completed; None if unreadable."""
    try:
        rows = json.loads(state)["wf"]["tasks"]
        return {row[3] for row in rows if row[2] == COMPLETED}
    except (ValueError, KeyError, TypeError, IndexError):
        return None


def completed_instances_reached_an_end(ctx: Context) -> list[Violation]:
    """Every completed instance's stored state shows its process ended: the ``End`` task or a
    terminate end event completed."""
    found = []
    rows = (
        ProcessInstance.objects.filter(status=InstanceStatus.COMPLETED)
        .order_by("pk")
        .values_list("pk", "process_key", "version_id", "version__spec_json", "state")
    )
    for pk, key, version_id, spec_json, state in rows.iterator(chunk_size=200):
        completed = _completed_tasks(state)
        if completed is None:
            found.append(
                Violation(
                    "completed_without_end",
                    f"instance {pk} ({key}) is completed but its stored state has no readable "
                    "task table",
                )
            )
            continue
        if PROCESS_END in completed or completed & _terminate_ends(version_id, spec_json):
            continue
        found.append(
            Violation(
                "completed_without_end",
                f"instance {pk} ({key}) is completed but never reached an end event: its stored "
                "state shows neither the process's End task nor a terminate end event completed",
            )
        )
    return found
