"""What the lint pass knows about BPMN: the flow nodes Flowgate runs, the elements it allows or
explains away, the ids the engine reserves, and how to read a tag."""

from __future__ import annotations

from typing import Any

from ..parser import NSMAP

BPMN_NS = NSMAP["bpmn"]

SUPPORTED_FLOW_NODES = {
    "startEvent",
    "endEvent",
    "intermediateCatchEvent",
    "intermediateThrowEvent",
    "boundaryEvent",
    "task",
    "userTask",
    "manualTask",
    "serviceTask",
    "businessRuleTask",
    "sendTask",
    "receiveTask",
    "exclusiveGateway",
    "parallelGateway",
    "inclusiveGateway",
    "eventBasedGateway",
    "subProcess",
    "callActivity",
}
# Elements that may appear inside a process without being flow nodes.
ALLOWED_NON_NODES = {
    "sequenceFlow",
    "laneSet",
    "documentation",
    "extensionElements",
    "textAnnotation",
    "association",
    "dataObject",
    "dataObjectReference",
    "ioSpecification",
    "property",
    "incoming",
    "outgoing",
    "multiInstanceLoopCharacteristics",
    "group",
}
UNSUPPORTED_MESSAGES = {
    "scriptTask": "Script tasks are not allowed: use a service task bound to a connector.",
    "complexGateway": "Complex gateways are not supported: use an inclusive or exclusive gateway.",
    "transaction": "Transaction subprocesses are not supported: use an embedded subprocess.",
    "adHocSubProcess": "Ad-hoc subprocesses are not supported: use an embedded subprocess.",
    "dataStoreReference": "Data stores are not supported: keep data in process variables.",
}
# Names of Spiff's own task specs: elements with these ids, or ids ending in one of Spiff's
# suffixes, are renamed for the parse and get their id back afterwards (reserved_ids.py).
# (Spiff's fourth suffix, " [child]", holds a space, which no BPMN id may: the schema refuses it.)
RESERVED_IDS = {"Start", "End", "Root", "StartEventSplit", "StartEventJoin"}
RESERVED_SUFFIXES = (".EndJoin", ".BoundaryEventSplit", ".BoundaryEventJoin")


def local(tag: Any) -> str:
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def is_bpmn(element: Any) -> bool:
    return isinstance(element.tag, str) and element.tag.startswith("{" + BPMN_NS + "}")
