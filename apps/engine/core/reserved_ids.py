"""Element ids that SpiffWorkflow uses for its own tasks (``Start``, ``End``, ...) are renamed for
the parse only, then given back as each task's ``bpmn_id``: a model may call its start event
``Start`` (Camunda's and bpmn-js' users do), and the instance still reports ``Start``. Ids ending
in one of Spiff's suffixes (``Review.BoundaryEventSplit``, ``p.EndJoin``: legal BPMN ids) are
renamed the same way, so no id a modeller may write is refused.

The internal name (``Start_fg``) is the task spec's ``name``, the key Spiff looks specs up by; the
serializer keeps ``bpmn_id`` and ``name`` apart, so a stored spec keeps both.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from .lint.vocabulary import RESERVED_IDS, RESERVED_SUFFIXES, local

#: Attributes that hold an element id (references from flows, boundary events, diagrams).
_ID_ATTRIBUTES = ("id", "sourceRef", "targetRef", "attachedToRef", "default", "bpmnElement")
#: Elements whose text is an element id.
_ID_TEXT = ("flowNodeRef", "incoming", "outgoing")
#: Elements whose id is not a task's (a process's id is its key, never a task spec's name).
_NOT_TASKS = ("definitions", "process", "collaboration", "participant")


def is_reserved(element_id: str | None) -> bool:
    """True when Spiff could mistake ``element_id`` for the name of one of its own task specs."""
    return bool(element_id) and (
        element_id in RESERVED_IDS or element_id.endswith(RESERVED_SUFFIXES)  # type: ignore[union-attr]
    )


def rename_reserved(root: Any) -> tuple[Any, dict[str, str]]:
    """(a copy of ``root`` with reserved ids renamed, {internal name: original id}); ``root``
    itself when nothing needs renaming."""
    ids = {n.get("id") for n in root.iter() if isinstance(n.tag, str) and n.get("id")}
    reserved = {
        n.get("id")
        for n in root.iter()
        if isinstance(n.tag, str) and is_reserved(n.get("id")) and local(n.tag) not in _NOT_TASKS
    }
    if not reserved:
        return root, {}
    mapping: dict[str, str] = {}
    for old in sorted(reserved):
        new = f"{old.replace('.', '_')}_fg"
        while new in ids:
            new += "_"
        ids.add(new)
        mapping[old] = new
    renamed = copy.deepcopy(root)
    for node in renamed.iter():
        if not isinstance(node.tag, str):
            continue
        if local(node.tag) in _NOT_TASKS:
            continue
        for attribute in _ID_ATTRIBUTES:
            value = node.get(attribute)
            if value in mapping:
                node.set(attribute, mapping[value])
        text = (node.text or "").strip()
        if local(node.tag) in _ID_TEXT and text in mapping:
            node.text = mapping[text]
    return renamed, {new: old for old, new in mapping.items()}


def restore_ids(specs: Iterable[Any], originals: dict[str, str]) -> None:
    """Give each renamed task spec its element id back as ``bpmn_id``."""
    if not originals:
        return
    for spec in specs:
        for task_spec in spec.task_specs.values():
            original = originals.get(getattr(task_spec, "bpmn_id", None) or "")
            if original is not None:
                task_spec.bpmn_id = original
