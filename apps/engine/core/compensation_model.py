"""Compensation in a model: its problems, and the transform into what SpiffWorkflow can run.

Camunda Modeler and bpmn-js draw compensation as: a boundary event with a
``compensateEventDefinition`` on the activity to undo, an ``association`` from it to a handler
activity marked ``isForCompensation="true"`` (no sequence flows), and intermediate or end throw
events with a ``compensateEventDefinition`` (optional ``activityRef``, ``waitForCompletion``).

``transform(root)`` rewrites a copy of the document (decision 034):

* the boundary events and their associations go; each handler leaves the flow;
* each throw becomes a sequential multi-instance subprocess with the throw's id
  (``FlowgateCompensationThrow``): start -> exclusive gateway on ``compensation["handler"]`` -> a
  copy of each handler in the throw's reach -> end. The first copy of a handler keeps its id,
  later copies get ``__2``, ``__3``... An end throw continues to a plain end event; a throw with
  ``waitForCompletion="false"`` (intermediate or end) becomes a parallel split whose side branch
  compensates while the other continues (an end throw's: to a plain end event, at once);
* a process with compensation gets one more such subprocess, ``fg_cancel_compensation__undo``,
  behind a start event that never fires: the step the operator's cancel with compensation starts.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from .compensation import (
    CANCEL_SIGNAL,
    CANCEL_SUBPROCESS_ID,
    CANCEL_UNDO_ID,
    COMPENSATION_VARIABLE,
    QUEUE_VARIABLE,
)
from .parser import FLOWGATE_NS, NSMAP

BPMN_NS = NSMAP["bpmn"]
ACTIVITIES = {
    "task",
    "userTask",
    "serviceTask",
    "manualTask",
    "businessRuleTask",
    "sendTask",
    "receiveTask",
    "subProcess",
    "callActivity",
}
THROW_ATTRIBUTE = "compensationThrow"
_COPY_SUFFIX = re.compile(r"(.+)__\d+")
_INTERNAL_SUFFIXES = ("__start", "__dispatch", "__none", "__done", "__end", "__handlers_end")

Problem = tuple[str | None, str, str]


def _q(tag: str) -> str:
    return f"{{{BPMN_NS}}}{tag}"


def _local(node: Any) -> str:
    return etree.QName(node).localname if isinstance(node.tag, str) else ""


def _xp(node: Any, path: str) -> list[Any]:
    return node.xpath(path, namespaces=NSMAP)


def _is_compensation(node: Any) -> bool:
    return bool(_xp(node, "./bpmn:compensateEventDefinition"))


@dataclass
class CompensationModel:
    """What a document says about compensation: activity -> handler, throws, problems."""

    handlers: dict[str, Any] = field(default_factory=dict)  # activity id -> handler element
    boundaries: list[Any] = field(default_factory=list)
    associations: list[Any] = field(default_factory=list)
    throws: list[Any] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def present(self) -> bool:
        return bool(self.handlers or self.throws or self.boundaries)


def _container(node: Any) -> Any:
    return node.getparent()


def _descendant_activities(container: Any) -> list[Any]:
    return [n for n in container.iter() if _local(n) in ACTIVITIES and n is not container]


def analyze(root: Any) -> CompensationModel:
    model = CompensationModel()
    ids = {n.get("id"): n for n in root.iter() if isinstance(n.tag, str) and n.get("id")}
    links: dict[str, list[str]] = {}
    for association in _xp(root, ".//bpmn:association"):
        source, target = association.get("sourceRef"), association.get("targetRef")
        links.setdefault(source or "", []).append(target or "")
        links.setdefault(target or "", []).append(source or "")
        model.associations.append(association)
    flows = _xp(root, ".//bpmn:sequenceFlow")
    used_handlers: set[str] = set()
    for boundary in _xp(root, ".//bpmn:boundaryEvent"):
        if not _is_compensation(boundary):
            continue
        model.boundaries.append(boundary)
        bid = boundary.get("id")
        handler_ids = [
            h for h in links.get(bid, []) if ids.get(h) is not None and _for_compensation(ids[h])
        ]
        if not handler_ids:
            model.problems.append(
                (
                    bid,
                    "compensation_without_handler",
                    "This compensation boundary event has no handler: connect it with an "
                    "association to an activity marked 'for compensation' (the activity that "
                    "undoes this one).",
                )
            )
            continue
        used_handlers.add(handler_ids[0])
        model.handlers[boundary.get("attachedToRef")] = ids[handler_ids[0]]
    for node in root.iter():
        if not isinstance(node.tag, str) or not _for_compensation(node):
            continue
        nid = node.get("id")
        if any(f.get("sourceRef") == nid or f.get("targetRef") == nid for f in flows):
            model.problems.append(
                (
                    nid,
                    "compensation_handler_with_flows",
                    "A compensation handler runs only when its activity is compensated: remove "
                    "its incoming and outgoing sequence flows.",
                )
            )
        if nid not in used_handlers:
            model.problems.append(
                (
                    nid,
                    "compensation_handler_unused",
                    "No compensation boundary event points to this handler: attach one to the "
                    "activity it undoes and connect it with an association.",
                )
            )
    for start in _xp(root, ".//bpmn:startEvent"):
        if _is_compensation(start):
            model.problems.append(
                (
                    start.get("id"),
                    "compensation_event_subprocess",
                    "Compensation event subprocesses are not supported; use a compensation "
                    "boundary event with a handler.",
                )
            )
    for throw in _xp(root, ".//bpmn:intermediateThrowEvent | .//bpmn:endEvent"):
        if not _is_compensation(throw):
            continue
        model.throws.append(throw)
        ref = _definition(throw).get("activityRef")
        if ref and not _compensable(ids.get(ref), _container(throw), model):
            model.problems.append(
                (
                    throw.get("id"),
                    "compensation_activity_not_compensable",
                    f"'{ref}' cannot be compensated here: the activity must be in the same "
                    "process or subprocess as this event and have a compensation handler (or "
                    "be a subprocess with compensable activities).",
                )
            )
    return model


def _for_compensation(node: Any) -> bool:
    return node.get("isForCompensation") == "true" and _local(node) in ACTIVITIES


def _definition(throw: Any) -> Any:
    return _xp(throw, "./bpmn:compensateEventDefinition")[0]


def _compensable(node: Any, container: Any, model: CompensationModel) -> bool:
    if node is None or _container(node) is not container or _local(node) not in ACTIVITIES:
        return False
    if node.get("id") in model.handlers:
        return True
    return _local(node) == "subProcess" and any(
        a.get("id") in model.handlers for a in _descendant_activities(node)
    )


def called_compensation_problem(call_activity: Any, called_id: str) -> Problem:
    """A call activity whose called process uses compensation (decision 034: compensation does
    not cross a call activity; the called process's compensation elements would otherwise be
    refused as elements the engine cannot read)."""
    name = call_activity.get("name") or call_activity.get("id")
    return (
        call_activity.get("id"),
        "called_process_compensation",
        f"Call activity '{name}' calls '{called_id}', which uses compensation: compensation "
        "does not reach into or run inside a called process. Draw the called steps as an "
        "embedded subprocess here, or attach a compensation boundary event with a handler to "
        "this call activity to undo it as a whole (and take the compensation out of the called "
        "process).",
    )


def problems(root: Any) -> list[Problem]:
    return analyze(root).problems


def element_ids(root: Any) -> frozenset[str]:
    return frozenset(n.get("id") for n in root.iter() if isinstance(n.tag, str) and n.get("id"))


def on_modelled_element(problem: Problem, modelled: frozenset[str]) -> Problem:
    """A problem the lint found on an element the transform made (a handler's second copy
    ``CancelHotel__2``, a throw's ``UndoBookings__dispatch``) belongs to the modeller's element
    (``CancelHotel``, ``UndoBookings``)."""
    element_id, code, message = problem
    if element_id and element_id not in modelled and "__" in element_id:
        base = element_id.split("__", 1)[0]
        if base in modelled:
            return (base, code, message)
    return problem


def transform(root: Any) -> tuple[Any, dict[str, Any]]:
    """A copy of ``root`` Spiff can run, and the plan the runner records activations with.

    Call it only on a document without compensation problems."""
    root = copy.deepcopy(root)
    model = analyze(root)
    plan: dict[str, Any] = {"compensable": [], "containers": [], "handler_ids": [], "internal": []}
    if not model.present:
        return root, plan
    modelled = element_ids(root)
    plan["compensable"] = sorted(model.handlers)
    for element in [*model.boundaries, *model.associations]:
        element.getparent().remove(element)
    originals: dict[str, Any] = {}
    for activity_id, handler in model.handlers.items():
        handler.getparent().remove(handler)
        del handler.attrib["isForCompensation"]
        originals[activity_id] = handler
    containers: set[str] = set()
    for node in root.iter():
        if _local(node) == "subProcess" and any(
            a.get("id") in originals for a in _descendant_activities(node)
        ):
            containers.add(node.get("id"))
    plan["containers"] = sorted(containers)
    copies: dict[str, int] = {}
    for throw in model.throws:
        reach = _reach(_container(throw), originals)
        mapping = _replace_throw(throw, reach, originals, copies, top=False)
        plan["handler_ids"].extend(mapping.values())
    for process in _xp(root, "./bpmn:process[@isExecutable='true']"):
        reach = _reach(process, originals)
        if reach:
            mapping = _add_cancel_subprocess(root, process, reach, originals, copies)
            plan["handler_ids"].extend(mapping.values())
    plan["handler_ids"] = sorted(set(plan["handler_ids"]))
    # a handler copy's elements (``CancelHotel__2``, inside it ``cf_confirm__2``) -> the
    # modeller's element: what jobs, inbox tasks, steps and audit events show to people
    plan["copies"] = {
        element_id: match.group(1)
        for element_id in sorted(element_ids(root) - modelled)
        if (match := _COPY_SUFFIX.fullmatch(element_id)) and match.group(1) in modelled
    }
    # the transform's own start, gateway and end events: no step a person should read about
    plan["internal"] = sorted(
        i for i in element_ids(root) - modelled if i.endswith(_INTERNAL_SUFFIXES)
    )
    return root, plan


def _reach(container: Any, originals: dict[str, Any]) -> list[str]:
    """Compensable activities a throw in ``container`` may undo (inner subprocesses too)."""
    return [a.get("id") for a in _descendant_activities(container) if a.get("id") in originals]


def _handler_copy(handler: Any, copies: dict[str, int]) -> Any:
    hid = handler.get("id")
    count = copies.get(hid, 0) + 1
    copies[hid] = count
    element = copy.deepcopy(handler)
    if count == 1:
        return element
    suffix = f"__{count}"
    renamed = {n.get("id") for n in element.iter() if isinstance(n.tag, str) and n.get("id")}
    for node in element.iter():
        if not isinstance(node.tag, str):
            continue
        for attr in ("id", "sourceRef", "targetRef", "attachedToRef", "default"):
            value = node.get(attr)
            if value in renamed:
                node.set(attr, value + suffix)
        if _local(node) in ("incoming", "outgoing") and node.text in renamed:
            node.text = node.text + suffix
    return element


def _sub(parent: Any, tag: str, **attrs: str) -> Any:
    return etree.SubElement(parent, _q(tag), {k: v for k, v in attrs.items() if v is not None})


def _flow(parent: Any, fid: str, source: str, target: str, condition: str | None = None) -> None:
    flow = _sub(parent, "sequenceFlow", id=fid, sourceRef=source, targetRef=target)
    if condition is not None:
        expression = _sub(flow, "conditionExpression")
        expression.text = condition


def _dispatcher(
    sid: str,
    name: str | None,
    reach: list[str],
    originals: dict[str, Any],
    copies: dict[str, int],
    *,
    activity_ref: str | None,
    top: bool,
) -> tuple[Any, dict[str, str]]:
    sub = etree.Element(_q("subProcess"), {"id": sid})
    if name:
        sub.set("name", name)
    loop = _sub(sub, "multiInstanceLoopCharacteristics", isSequential="true")
    loop.set(f"{{{FLOWGATE_NS}}}collection", QUEUE_VARIABLE)
    loop.set(f"{{{FLOWGATE_NS}}}elementVariable", COMPENSATION_VARIABLE)
    mapping: dict[str, str] = {}
    start, gateway, skip = f"{sid}__start", f"{sid}__dispatch", f"{sid}__none"
    _sub(sub, "startEvent", id=start)
    _sub(sub, "exclusiveGateway", id=gateway, default=f"{sid}__to_none")
    _sub(sub, "endEvent", id=skip)
    for activity_id in reach:
        handler = _handler_copy(originals[activity_id], copies)
        sub.append(handler)
        hid = handler.get("id")
        mapping[activity_id] = hid
        _sub(sub, "endEvent", id=f"{hid}__done")
        _flow(sub, f"{hid}__in", gateway, hid, f'{COMPENSATION_VARIABLE}["handler"] == "{hid}"')
        _flow(sub, f"{hid}__out", hid, f"{hid}__done")
    _flow(sub, f"{sid}__to_dispatch", start, gateway)
    _flow(sub, f"{sid}__to_none", gateway, skip)
    sub.set(
        f"{{{FLOWGATE_NS}}}{THROW_ATTRIBUTE}",
        json.dumps({"handlers": mapping, "activity_ref": activity_ref, "top": top}),
    )
    return sub, mapping


def _replace_throw(
    throw: Any, reach: list[str], originals: dict[str, Any], copies: dict[str, int], *, top: bool
) -> dict[str, str]:
    definition = _definition(throw)
    ref = definition.get("activityRef")
    wait = definition.get("waitForCompletion", "true") != "false"
    container = _container(throw)
    tid, is_end = throw.get("id"), _local(throw) == "endEvent"
    flows = [e for e in throw if _local(e) in ("incoming", "outgoing")]
    if ref is not None:
        # nested compensable activities count when the reference is a subprocess
        target = next((a for a in container.iter() if a.get("id") == ref), None)
        inner = (
            {a.get("id") for a in _descendant_activities(target)} if target is not None else set()
        )
        reach = [a for a in reach if a == ref or a in inner]
    if wait:
        sub, mapping = _dispatcher(
            tid, throw.get("name"), reach, originals, copies, activity_ref=ref, top=top
        )
        for element in flows:
            sub.insert(0 if _local(element) == "incoming" else len(flows), element)
        _order_flows(sub)
        container.replace(throw, sub)
        if is_end:
            _sub(container, "endEvent", id=f"{tid}__end")
            _flow(container, f"{tid}__to_end", tid, f"{tid}__end")
        return mapping
    # waitForCompletion="false": fork, compensate on the side branch, continue at once. An end
    # throw's token ends at once too; its process or subprocess completes when the side branch
    # has (BPMN: a scope is complete once none of its tokens, handlers included, is active).
    fork = etree.Element(_q("parallelGateway"), {"id": tid})
    if throw.get("name"):
        fork.set("name", throw.get("name"))
    for element in flows:
        fork.append(element)
    container.replace(throw, fork)
    if is_end:
        _sub(container, "endEvent", id=f"{tid}__end")
        _flow(container, f"{tid}__to_end", tid, f"{tid}__end")
    sub, mapping = _dispatcher(
        f"{tid}__handlers",
        throw.get("name"),
        reach,
        originals,
        copies,
        activity_ref=ref,
        top=top,
    )
    container.append(sub)
    _sub(container, "endEvent", id=f"{tid}__handlers_end")
    _flow(container, f"{tid}__to_handlers", tid, f"{tid}__handlers")
    _flow(container, f"{tid}__handlers_done", f"{tid}__handlers", f"{tid}__handlers_end")
    return mapping


def _order_flows(sub: Any) -> None:
    """Schema order: incoming, outgoing, then the loop characteristics and the flow elements."""
    head = [e for e in sub if _local(e) == "incoming"] + [e for e in sub if _local(e) == "outgoing"]
    for element in reversed(head):
        sub.remove(element)
        sub.insert(0, element)


def _add_cancel_subprocess(
    root: Any, process: Any, reach: list[str], originals: dict[str, Any], copies: dict[str, int]
) -> dict[str, str]:
    """The undo step of the operator's cancel with compensation: Spiff parses only what a start
    event reaches, so it hangs off a signal start event that never fires (the none start event
    cancels it); ``Instance.cancel_with_compensation`` starts the step itself."""
    definitions = root if _local(root) == "definitions" else root.getroottree().getroot()
    if not _xp(definitions, f"./bpmn:signal[@id='{CANCEL_SIGNAL}']"):
        signal = etree.Element(_q("signal"), {"id": CANCEL_SIGNAL, "name": CANCEL_SIGNAL})
        definitions.insert(0, signal)
    start = _sub(process, "startEvent", id=f"{CANCEL_SUBPROCESS_ID}__start")
    _sub(start, "signalEventDefinition", signalRef=CANCEL_SIGNAL)
    sub, mapping = _dispatcher(
        CANCEL_UNDO_ID, "Compensate (cancel)", reach, originals, copies, activity_ref=None, top=True
    )
    process.append(sub)
    _sub(process, "endEvent", id=f"{CANCEL_SUBPROCESS_ID}__end")
    _flow(process, f"{CANCEL_SUBPROCESS_ID}__f1", start.get("id"), CANCEL_UNDO_ID)
    _flow(process, f"{CANCEL_SUBPROCESS_ID}__f2", CANCEL_UNDO_ID, f"{CANCEL_SUBPROCESS_ID}__end")
    return mapping
