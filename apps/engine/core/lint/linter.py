"""The lint pass: the document (ids, message/error/signal references), each process and embedded
subprocess as a graph (elements, flows, reachability), and each node, by kind."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from ..parser import (
    NSMAP,
    fg_attr,
)
from .tasks import TaskChecks
from .vocabulary import (
    ALLOWED_NON_NODES,
    SUPPORTED_FLOW_NODES,
    UNSUPPORTED_MESSAGES,
    is_bpmn,
    local,
)


class Linter(TaskChecks):
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
        elif tag == "businessRuleTask":
            self.check_business_rule_task(node)
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
