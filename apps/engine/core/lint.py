"""Flowgate's own lint pass over the BPMN XML: every problem at once, addressed by element id.

Spiff stops at the first problem it meets; this pass walks the whole document first so that a
designer sees the full list in one deploy attempt.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from typing import Any

from .parser import (
    NSMAP,
    camunda_attr,
    ext_attr,
    fg_attr,
    form_schema,
    is_wrapped_expression,
    list_spec,
    max_attempts_of,
    service_connector,
    service_mappings,
    unwrap_name,
    value_spec,
)
from .timers import TimerKind, is_iso_literal, normalize_timer_expression, validate_timer_value

BPMN_NS = NSMAP["bpmn"]
_IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ISO_LOOKING_RE = re.compile(r"^(P\d|PT|R\d*/|\d{4}-)", re.IGNORECASE)

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
    "businessRuleTask": "Business rule tasks are not supported: use a service task bound to a "
    "connector, or a gateway with conditions.",
    "complexGateway": "Complex gateways are not supported: use an inclusive or exclusive gateway.",
    "transaction": "Transaction subprocesses are not supported: use an embedded subprocess.",
    "adHocSubProcess": "Ad-hoc subprocesses are not supported: use an embedded subprocess.",
    "dataStoreReference": "Data stores are not supported: keep data in process variables.",
}
RESERVED_IDS = {"Start", "End", "Root", "StartEventSplit", "StartEventJoin"}
RESERVED_SUFFIXES = (".EndJoin", ".BoundaryEventSplit", ".BoundaryEventJoin", " [child]")


def local(tag: Any) -> str:
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def is_bpmn(element: Any) -> bool:
    return isinstance(element.tag, str) and element.tag.startswith("{" + BPMN_NS + "}")


class Linter:
    def __init__(
        self,
        root: Any,
        *,
        check_expression: Any,
        known_roles: Collection[str] | None,
        known_connectors: Collection[str] | None,
    ) -> None:
        self.root = root
        self.check_expression = check_expression
        self.known_roles = known_roles
        self.known_connectors = known_connectors
        self.problems: list[tuple[str | None, str, str]] = []

    # -- helpers -------------------------------------------------------------------------------

    def add(self, element_id: str | None, code: str, message: str) -> None:
        self.problems.append((element_id, code, message))

    def xpath(self, node: Any, path: str) -> list[Any]:
        return list(node.xpath(path, namespaces=NSMAP))

    def expression(self, element_id: str | None, text: str | None, what: str) -> None:
        if text is None or not text.strip():
            self.add(element_id, "bad_expression", f"The {what} is empty.")
            return
        problem = self.check_expression(text)
        if problem:
            self.add(
                element_id, "bad_expression", f"The {what} '{text.strip()}' is invalid: {problem}"
            )

    def label(self, node: Any) -> str:
        name = node.get("name")
        return f"'{name}'" if name else f"'{node.get('id')}'"

    # -- entry point ---------------------------------------------------------------------------

    def run(self) -> list[tuple[str | None, str, str]]:
        if local(self.root.tag) != "definitions" or not is_bpmn(self.root):
            self.add(None, "not_bpmn", "This is not a BPMN 2.0 file (no bpmn:definitions root).")
            return self.problems
        self.check_ids()
        processes = self.xpath(self.root, "./bpmn:process")
        if not processes:
            self.add(None, "no_process", "The file contains no process.")
        if processes and not any(p.get("isExecutable") == "true" for p in processes):
            for process in processes:
                self.add(
                    process.get("id"),
                    "not_executable",
                    f"Process {self.label(process)} is not marked executable; tick "
                    "'Executable' in the designer.",
                )
        self.check_definitions_refs()
        for process in processes:
            if process.get("isExecutable") == "true":
                self.check_scope(process)
        return self.problems

    def check_ids(self) -> None:
        seen: set[str] = set()
        for node in self.root.iter():
            if not isinstance(node.tag, str):
                continue
            element_id = node.get("id")
            if element_id is None:
                continue
            if element_id in seen and is_bpmn(node):
                self.add(
                    element_id, "duplicate_id", f"The id '{element_id}' is used more than once."
                )
            seen.add(element_id)
            if not is_bpmn(node):
                continue
            if element_id in RESERVED_IDS or element_id.endswith(RESERVED_SUFFIXES):
                self.add(
                    element_id,
                    "reserved_id",
                    f"The id '{element_id}' is reserved by the engine; rename the element "
                    f"(for example '{element_id.replace('.', '_').replace(' ', '_')}_1').",
                )

    def check_definitions_refs(self) -> None:
        ids = {
            "message": {m.get("id") for m in self.xpath(self.root, ".//bpmn:message")},
            "error": {m.get("id") for m in self.xpath(self.root, ".//bpmn:error")},
            "escalation": {m.get("id") for m in self.xpath(self.root, ".//bpmn:escalation")},
            "signal": {m.get("id") for m in self.xpath(self.root, ".//bpmn:signal")},
        }
        for message in self.xpath(self.root, ".//bpmn:message"):
            if not message.get("name"):
                self.add(message.get("id"), "message_without_name", "A message needs a name.")
        for kind in ("message", "error", "escalation", "signal"):
            for definition in self.xpath(self.root, f".//bpmn:{kind}EventDefinition"):
                ref = definition.get(f"{kind}Ref")
                owner = definition.getparent().get("id")
                if ref is not None and ref not in ids[kind]:
                    self.add(owner, f"unknown_{kind}", f"The {kind} '{ref}' is not defined.")
                elif ref is None and kind == "message":
                    self.add(owner, "message_without_ref", "Choose the message this event uses.")
        for task in self.xpath(self.root, ".//bpmn:receiveTask | .//bpmn:sendTask"):
            ref = task.get("messageRef")
            has_definition = self.xpath(task, "./bpmn:messageEventDefinition")
            if ref is None and not has_definition:
                self.add(
                    task.get("id"), "message_without_ref", "Choose the message this task uses."
                )
            elif ref is not None and ref not in ids["message"]:
                self.add(task.get("id"), "unknown_message", f"The message '{ref}' is not defined.")

    # -- a process or embedded subprocess -------------------------------------------------------

    def check_scope(self, scope: Any) -> None:
        nodes: dict[str, Any] = {}
        for child in scope:
            if not is_bpmn(child):
                continue
            tag = local(child.tag)
            if tag in SUPPORTED_FLOW_NODES:
                nodes[child.get("id")] = child
            elif tag in UNSUPPORTED_MESSAGES:
                self.add(child.get("id"), f"unsupported_{tag}", UNSUPPORTED_MESSAGES[tag])
                nodes[child.get("id")] = child  # still part of the graph: no cascading problems
            elif tag not in ALLOWED_NON_NODES:
                self.add(
                    child.get("id"),
                    "unsupported_element",
                    f"The element bpmn:{tag} is not supported by Flowgate.",
                )
        flows = self.xpath(scope, "./bpmn:sequenceFlow")
        outgoing: dict[str, list[Any]] = {}
        for flow in flows:
            source, target = flow.get("sourceRef"), flow.get("targetRef")
            if source not in nodes or target not in nodes:
                self.add(
                    flow.get("id"),
                    "dangling_flow",
                    "This sequence flow is not connected to two elements of the same process.",
                )
                continue
            outgoing.setdefault(source, []).append(flow)
            condition = self.xpath(flow, "./bpmn:conditionExpression")
            if condition:
                self.expression(flow.get("id"), condition[0].text, "condition")
        starts = [n for n in nodes.values() if local(n.tag) == "startEvent"]
        if not starts:
            self.add(scope.get("id"), "no_start_event", f"{self.label(scope)} has no start event.")
        if local(scope.tag) == "subProcess" and len(starts) > 1:
            self.add(
                scope.get("id"),
                "subprocess_starts",
                "An embedded subprocess needs exactly one start event.",
            )
        if not any(local(n.tag) == "endEvent" for n in nodes.values()):
            self.add(scope.get("id"), "no_end_event", f"{self.label(scope)} has no end event.")
        self.check_reachability(nodes, outgoing)
        for node in nodes.values():
            self.check_node(node, outgoing.get(node.get("id"), []))
        for node in nodes.values():
            if local(node.tag) == "subProcess":
                self.check_scope(node)

    def check_reachability(self, nodes: dict[str, Any], outgoing: dict[str, list[Any]]) -> None:
        attached: dict[str, list[str]] = {}
        for node_id, node in nodes.items():
            if local(node.tag) == "boundaryEvent":
                attached.setdefault(node.get("attachedToRef") or "", []).append(node_id)
                if node.get("attachedToRef") not in nodes:
                    self.add(
                        node_id,
                        "dangling_boundary",
                        "This boundary event is not attached to a task.",
                    )
        pending = [
            node_id
            for node_id, node in nodes.items()
            if local(node.tag) == "startEvent"
            or (local(node.tag) == "subProcess" and node.get("triggeredByEvent") == "true")
        ]
        reached: set[str] = set()
        while pending:
            node_id = pending.pop()
            if node_id in reached:
                continue
            reached.add(node_id)
            pending.extend(flow.get("targetRef") for flow in outgoing.get(node_id, []))
            pending.extend(attached.get(node_id, []))
        for node_id, node in nodes.items():
            if node_id not in reached and local(node.tag) not in UNSUPPORTED_MESSAGES:
                self.add(
                    node_id,
                    "unreachable",
                    f"{self.label(node)} cannot be reached from a start event; connect it or "
                    "delete it.",
                )

    def check_node(self, node: Any, outgoing: list[Any]) -> None:
        tag = local(node.tag)
        node_id = node.get("id")
        if tag in ("exclusiveGateway", "inclusiveGateway") and len(outgoing) > 1:
            default = node.get("default")
            for flow in outgoing:
                if flow.get("id") == default:
                    continue
                if not self.xpath(flow, "./bpmn:conditionExpression"):
                    self.add(
                        node_id,
                        "gateway_flow_without_condition",
                        f"Gateway {self.label(node)}: the outgoing flow '{flow.get('id')}' has no "
                        "condition and is not the default flow.",
                    )
        if (
            tag
            not in (
                "exclusiveGateway",
                "inclusiveGateway",
                "parallelGateway",
                "eventBasedGateway",
                "startEvent",
            )
            and len(outgoing) > 1
        ):
            self.add(
                node_id,
                "implicit_split",
                f"{self.label(node)} has several outgoing flows; use a gateway to split.",
            )
        if tag == "userTask":
            self.check_user_task(node)
        elif tag == "serviceTask":
            self.check_service_task(node)
        elif tag == "callActivity":
            if not (node.get("calledElement") or "").strip():
                self.add(
                    node_id, "call_without_process", "Choose the process this call activity calls."
                )
        elif tag == "eventBasedGateway":
            for flow in outgoing:
                target = self.root.xpath(
                    "//bpmn:*[@id=$tid]", namespaces=NSMAP, tid=flow.get("targetRef")
                )
                if target and local(target[0].tag) not in ("intermediateCatchEvent", "receiveTask"):
                    self.add(
                        node_id,
                        "event_gateway_target",
                        "An event-based gateway may only lead to catch events or receive tasks.",
                    )
        if tag == "subProcess" and node.get("triggeredByEvent") == "true":
            self.add(
                node_id,
                "unsupported_event_subprocess",
                "Event subprocesses are not supported: use a boundary event on a subprocess.",
            )
        if self.xpath(node, "./bpmn:conditionalEventDefinition"):
            self.add(
                node_id,
                "unsupported_conditional_event",
                "Conditional events are not supported: use a gateway with conditions or a timer.",
            )
        if tag == "boundaryEvent" and not any(
            self.xpath(node, f"./bpmn:{kind}EventDefinition")
            for kind in ("timer", "message", "error", "escalation", "signal")
        ):
            self.add(node_id, "boundary_without_event", "Choose the kind of this boundary event.")
        for timer in self.xpath(node, "./bpmn:timerEventDefinition"):
            self.check_timer(node, timer)
        correlation_key = fg_attr(node, "correlationKey")
        if correlation_key:
            self.expression(node_id, correlation_key, "correlation key")
        loop = self.xpath(node, "./bpmn:multiInstanceLoopCharacteristics")
        if loop:
            self.check_multi_instance(node, loop[0])
        if self.xpath(node, "./bpmn:standardLoopCharacteristics"):
            self.add(
                node_id, "unsupported_loop", "Standard loops are not supported; use multi-instance."
            )

    def check_user_task(self, node: Any) -> None:
        node_id = node.get("id")
        groups = list_spec(ext_attr(node, "candidateGroups"))
        users = list_spec(ext_attr(node, "candidateUsers"))
        assignee = value_spec(ext_attr(node, "assignee"))
        for item in [*groups, *users, assignee]:
            if isinstance(item, dict):
                self.expression(node_id, item["expr"], "assignment expression")
        lane = self.lane_of(node_id)
        lane_ok = bool(lane) and (self.known_roles is None or lane in self.known_roles)
        if self.known_roles is not None:
            for group in groups:
                if isinstance(group, str) and group not in self.known_roles:
                    self.add(
                        node_id,
                        "unknown_role",
                        f"User task {self.label(node)}: there is no role '{group}'.",
                    )
        if not groups and not users and assignee is None and not lane_ok:
            hint = f" (the lane '{lane}' is not a role)" if lane else ""
            self.add(
                node_id,
                "user_task_unassigned",
                f"User task {self.label(node)} is not assigned to anyone{hint}: set candidate "
                "groups (roles), candidate users or an assignee, or put it in a lane named after a role.",
            )
        for attribute, what in (("dueDate", "due date"), ("priority", "priority")):
            spec = value_spec(ext_attr(node, attribute))
            if isinstance(spec, dict):
                self.expression(node_id, spec["expr"], what)
            elif (
                isinstance(spec, str) and attribute == "priority" and not spec.lstrip("-").isdigit()
            ):
                self.add(node_id, "bad_priority", f"The priority '{spec}' is not a whole number.")
            elif isinstance(spec, str) and attribute == "dueDate":
                kind: TimerKind = "duration" if spec.upper().startswith("P") else "date"
                problem = validate_timer_value(kind, spec, allow_cron=False)
                if problem:
                    self.add(node_id, "bad_due_date", f"The due date is invalid: {problem}")
        _form, problem = form_schema(node)
        if problem:
            self.add(node_id, "bad_form", f"User task {self.label(node)}: {problem}")
        outcome = fg_attr(node, "outcomeVariable")
        if outcome is not None and not _IDENT_RE.match(outcome.strip()):
            self.add(node_id, "bad_outcome_variable", f"'{outcome}' is not a valid variable name.")

    def check_service_task(self, node: Any) -> None:
        node_id = node.get("id")
        connector = service_connector(node)
        if not connector:
            self.add(
                node_id,
                "service_task_without_connector",
                f"Service task {self.label(node)} is not bound to a connector: choose one "
                '(flowgate:connector, or camunda:type="external" with camunda:topic).',
            )
        elif self.known_connectors is not None and connector not in self.known_connectors:
            self.add(node_id, "unknown_connector", f"There is no connector named '{connector}'.")
        if (
            camunda_attr(node, "class")
            or camunda_attr(node, "expression")
            or camunda_attr(node, "delegateExpression")
        ):
            self.add(
                node_id,
                "unsupported_java_delegate",
                'Java delegates cannot run in Flowgate: use camunda:type="external" with a topic.',
            )
        try:
            max_attempts_of(node)
        except ValueError as exc:
            self.add(node_id, "bad_max_attempts", f"Service task {self.label(node)}: {exc}.")
        inputs, outputs = service_mappings(node)
        for kind, mappings in (("input", inputs), ("output", outputs)):
            for name, expression in mappings:
                if not _IDENT_RE.match(name):
                    self.add(
                        node_id,
                        f"bad_{kind}_name",
                        f"The {kind} name '{name}' is not a valid name.",
                    )
                self.expression(node_id, expression, f"{kind} mapping '{name}'")

    def check_timer(self, node: Any, timer: Any) -> None:
        node_id = node.get("id")
        children = [c for c in timer if is_bpmn(c)]
        if len(children) != 1:
            self.add(node_id, "bad_timer", "A timer needs exactly one of date, duration or cycle.")
            return
        kind: TimerKind = {
            "timeDate": "date",
            "timeDuration": "duration",
            "timeCycle": "cycle",
        }.get(local(children[0].tag), "date")  # type: ignore[assignment]
        raw = (children[0].text or "").strip()
        if not raw:
            self.add(node_id, "bad_timer", f"The timer {kind} is empty.")
            return
        literal = unwrap_name(raw) if is_wrapped_expression(raw) else raw
        if is_iso_literal(literal):
            problem = validate_timer_value(
                kind, literal, allow_cron=local(node.tag) == "startEvent"
            )
            if problem:
                self.add(node_id, "bad_timer", f"Timer {self.label(node)}: {problem}")
        elif local(node.tag) == "startEvent" or _ISO_LOOKING_RE.match(literal):
            self.add(
                node_id,
                "bad_timer",
                f"Timer {self.label(node)}: '{raw}' does not parse as an ISO-8601 {kind}"
                + (" or a cron line" if kind == "cycle" else "")
                + ".",
            )
        else:
            expression = normalize_timer_expression(raw) or ""
            problem = self.check_expression(expression)
            if problem:
                self.add(
                    node_id,
                    "bad_timer",
                    f"Timer {self.label(node)}: '{raw}' is neither an ISO-8601 {kind} "
                    f"(such as {'PT1H' if kind != 'date' else '2030-01-31T09:00:00Z'}) nor a "
                    f"valid expression: {problem}",
                )

    def check_multi_instance(self, node: Any, loop: Any) -> None:
        node_id = node.get("id")
        collection = ext_attr(loop, "collection")
        cardinality = self.xpath(loop, "./bpmn:loopCardinality")
        data_input = self.xpath(loop, "./bpmn:loopDataInputRef")
        sources = sum(1 for present in (collection, cardinality, data_input) if present)
        if sources != 1:
            self.add(
                node_id,
                "bad_multi_instance",
                "A multi-instance activity needs exactly one of a count (loop cardinality) or a "
                "collection (flowgate:collection).",
            )
        if collection is not None and not _IDENT_RE.match(unwrap_name(collection)):
            self.add(
                node_id,
                "bad_multi_instance",
                f"The collection '{collection}' must be a variable name.",
            )
        element = ext_attr(loop, "elementVariable")
        if element is not None and not _IDENT_RE.match(unwrap_name(element)):
            self.add(
                node_id,
                "bad_multi_instance",
                f"The element variable '{element}' is not a valid name.",
            )
        if cardinality:
            self.expression(node_id, cardinality[0].text, "loop cardinality")
        condition = self.xpath(loop, "./bpmn:completionCondition")
        if condition:
            self.expression(node_id, condition[0].text, "completion condition")

    def lane_of(self, node_id: str) -> str | None:
        refs = self.root.xpath("//bpmn:flowNodeRef[text()=$nid]", namespaces=NSMAP, nid=node_id)
        if refs:
            return refs[0].getparent().get("name")
        return None


def lint(
    root: Any,
    *,
    check_expression: Any,
    known_roles: Collection[str] | None = None,
    known_connectors: Collection[str] | None = None,
) -> list[tuple[str | None, str, str]]:
    return Linter(
        root,
        check_expression=check_expression,
        known_roles=known_roles,
        known_connectors=known_connectors,
    ).run()


def dedupe(problems: Iterable[tuple[str | None, str, str]]) -> list[tuple[str | None, str, str]]:
    seen: set[tuple[str | None, str, str]] = set()
    result = []
    for problem in problems:
        if problem not in seen:
            seen.add(problem)
            result.append(problem)
    return result
