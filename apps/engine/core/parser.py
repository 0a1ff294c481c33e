"""Spiff parser subclass reading Flowgate and Camunda 7 extension attributes.

A fresh ``FlowgateBpmnParser`` is used per compile: after one failed ``get_spec`` a Spiff parser
returns half-built specs without error.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
from SpiffWorkflow.bpmn.parser.event_parsers import (
    BoundaryEventParser,
    EndEventParser,
    EventBasedGatewayParser,
    IntermediateCatchEventParser,
    IntermediateThrowEventParser,
    ReceiveTaskParser,
    SendTaskParser,
    StartEventParser,
)
from SpiffWorkflow.bpmn.parser.node_parser import DEFAULT_NSMAP
from SpiffWorkflow.bpmn.parser.task_parsers import (
    CallActivityParser,
    ConditionalGatewayParser,
    GatewayParser,
    SubWorkflowParser,
)
from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.bpmn.parser.util import first, full_tag
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.data_spec import TaskDataReference
from SpiffWorkflow.bpmn.specs.defaults import (
    BoundaryEvent,
    CallActivity,
    EndEvent,
    EventBasedGateway,
    ExclusiveGateway,
    InclusiveGateway,
    IntermediateCatchEvent,
    IntermediateThrowEvent,
    ParallelGateway,
    ReceiveTask,
    SendTask,
    SubWorkflowTask,
)

from .business_rules import DECISION_CONNECTOR, decision_ref
from .compensation import FlowgateCompensationThrow
from .specs import (
    TIMER_CLASSES,
    FlowgateBusinessRuleTask,
    FlowgateManualTask,
    FlowgateNoneTask,
    FlowgateParallelMultiInstance,
    FlowgateSequentialMultiInstance,
    FlowgateServiceTask,
    FlowgateStartEvent,
    FlowgateUserTask,
)
from .timers import normalize_timer_expression

FLOWGATE_NS = "http://flowgate.dev/schema/bpmn/1.0"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
NSMAP = {**DEFAULT_NSMAP, "flowgate": FLOWGATE_NS, "camunda": CAMUNDA_NS}
DEFAULT_MAX_ATTEMPTS = 3
MAX_ATTEMPTS_LIMIT = 100
MAX_FORM_BYTES = 256 * 1024


def fg_attr(node: Any, name: str) -> str | None:
    return node.get(f"{{{FLOWGATE_NS}}}{name}")


def camunda_attr(node: Any, name: str) -> str | None:
    return node.get(f"{{{CAMUNDA_NS}}}{name}")


def ext_attr(node: Any, name: str) -> str | None:
    """Our attribute first, then the Camunda 7 attribute of the same name."""
    value = fg_attr(node, name)
    return value if value is not None else camunda_attr(node, name)


def is_wrapped_expression(text: str) -> bool:
    value = text.strip()
    return value.startswith(("${", "#{")) and value.endswith("}")


def value_spec(text: str | None) -> Any:
    """A literal stays a literal; ``${...}`` becomes ``{"expr": ...}``."""
    if text is None or not text.strip():
        return None
    value = text.strip()
    if is_wrapped_expression(value):
        return {"expr": "${" + value[2:]}
    return value


def list_spec(text: str | None) -> list[Any]:
    if text is None or not text.strip():
        return []
    value = text.strip()
    if is_wrapped_expression(value):
        return [{"expr": "${" + value[2:]}]
    return [item.strip() for item in value.split(",") if item.strip()]


def unwrap_name(text: str) -> str:
    value = text.strip()
    if is_wrapped_expression(value):
        value = value[2:-1].strip()
    return value


def service_connector(node: Any) -> str | None:
    connector = fg_attr(node, "connector")
    if connector:
        return connector.strip()
    if (camunda_attr(node, "type") or "").strip() == "external":
        topic = camunda_attr(node, "topic")
        return topic.strip() if topic else None
    return None


def service_mappings(node: Any) -> tuple[list[list[str]], list[list[str]]]:
    inputs: list[list[str]] = []
    outputs: list[list[str]] = []
    for element in node.xpath("./bpmn:extensionElements/flowgate:input", namespaces=NSMAP):
        inputs.append([element.get("name") or "", element.get("expression") or ""])
    for element in node.xpath("./bpmn:extensionElements/flowgate:output", namespaces=NSMAP):
        outputs.append([element.get("name") or "", element.get("expression") or ""])
    for element in node.xpath(
        "./bpmn:extensionElements/camunda:inputOutput/camunda:inputParameter", namespaces=NSMAP
    ):
        text = (element.text or "").strip()
        expression = text if is_wrapped_expression(text) else repr(text)
        inputs.append([element.get("name") or "", expression])
    return inputs, outputs


def form_schema(node: Any) -> tuple[dict[str, Any] | None, str | None]:
    """(form-js schema, problem message) from ``<flowgate:form>`` in extensionElements."""
    element = first(node.xpath("./bpmn:extensionElements/flowgate:form", namespaces=NSMAP))
    if element is None:
        return None, None
    text = (element.text or "").strip()
    if not text:
        return None, "The form is empty."
    if len(text.encode("utf-8")) > MAX_FORM_BYTES:
        return None, f"The form is larger than {MAX_FORM_BYTES // 1024} KiB."
    try:
        schema = json.loads(text)
    except ValueError as exc:
        return None, f"The form is not valid JSON: {exc}"
    if not isinstance(schema, dict):
        return None, "The form must be a JSON object (a form-js schema)."
    return schema, None


def max_attempts_of(node: Any) -> int:
    text = fg_attr(node, "maxAttempts")
    if text is None:
        return DEFAULT_MAX_ATTEMPTS
    value = int(text)
    if not 1 <= value <= MAX_ATTEMPTS_LIMIT:
        raise ValueError(f"maxAttempts must be between 1 and {MAX_ATTEMPTS_LIMIT}")
    return value


class _FlowgateNodeMixin:
    """Shared by all our task parsers: extension attributes, timers, multi-instance."""

    PARALLEL_MI_CLASS = FlowgateParallelMultiInstance
    SEQUENTIAL_MI_CLASS = FlowgateSequentialMultiInstance

    node: Any
    lane: str | None
    spec: Any
    task: Any
    process_parser: Any
    filename: Any

    def xpath(self, xpath: str) -> Any:
        return self.node.xpath(xpath, namespaces=NSMAP)

    def parse_extensions(self, node: Any = None) -> dict[str, Any]:
        node = node if node is not None else self.node
        tag = node.tag
        ext: dict[str, Any] = {}
        if tag == full_tag("userTask"):
            form, _problem = form_schema(node)
            roles: Collection[str] | None = getattr(self.process_parser.parser, "known_roles", None)
            ext.update(
                candidate_groups=list_spec(ext_attr(node, "candidateGroups")),
                candidate_users=list_spec(ext_attr(node, "candidateUsers")),
                assignee=value_spec(ext_attr(node, "assignee")),
                due_date=value_spec(ext_attr(node, "dueDate")),
                priority=value_spec(ext_attr(node, "priority")),
                form_key=ext_attr(node, "formKey"),
                form=form,
                approval=(fg_attr(node, "approval") or "").strip().lower() == "true",
                outcome_variable=(fg_attr(node, "outcomeVariable") or "outcome").strip(),
                lane_role=bool(self.lane) and (roles is None or self.lane in roles),
            )
        correlation_key = fg_attr(node, "correlationKey")
        if correlation_key:
            ext["correlation_key"] = correlation_key.strip()
        return ext

    def parse_timer_event(self, event: Any) -> Any:
        name = self.node.get("name", self.node.get("id"))
        description = self.get_event_description(event)  # type: ignore[attr-defined]
        for tag, kind in (
            ("timeDate", "date"),
            ("timeDuration", "duration"),
            ("timeCycle", "cycle"),
        ):
            element = first(self.xpath(f".//bpmn:{tag}"))
            if element is not None:
                expression = normalize_timer_expression(element.text or "")
                return TIMER_CLASSES[kind](name, expression, description=description)
        raise ValidationException(
            "A timer event needs a date, a duration or a cycle.",
            node=self.node,
            file_name=self.filename,
        )

    def _add_multiinstance_task(self, loop_characteristics: Any) -> None:
        collection = ext_attr(loop_characteristics, "collection")
        if collection is None:
            super()._add_multiinstance_task(loop_characteristics)  # type: ignore[misc]
            return
        element = ext_attr(loop_characteristics, "elementVariable") or "item"
        condition = first(
            self.xpath("./bpmn:multiInstanceLoopCharacteristics/bpmn:completionCondition")
        )
        sequential = loop_characteristics.get("isSequential") == "true"
        original = self.spec.task_specs.pop(self.task.name)
        params = {
            "task_spec": "",
            "cardinality": None,
            "data_input": TaskDataReference(unwrap_name(collection)),
            "data_output": None,
            "input_item": TaskDataReference(unwrap_name(element)),
            "output_item": None,
            "condition": condition.text if condition is not None else None,
        }
        cls = self.SEQUENTIAL_MI_CLASS if sequential else self.PARALLEL_MI_CLASS
        description = "Sequential MultiInstance" if sequential else "Parallel MultiInstance"
        throw = fg_attr(self.node, "compensationThrow")
        if throw is not None:  # a compensation throw event (compensation_model.transform)
            cls, description = FlowgateCompensationThrow, "Compensation"
            params.update(json.loads(throw))
        self.task = cls(self.spec, original.name, description=description, **params)
        self._copy_task_attrs(original, loop_characteristics)  # type: ignore[attr-defined]


class FgTaskParser(_FlowgateNodeMixin, TaskParser):
    pass


class FgServiceTaskParser(_FlowgateNodeMixin, TaskParser):
    def create_task(self) -> Any:
        inputs, outputs = service_mappings(self.node)
        try:
            attempts = max_attempts_of(self.node)
        except ValueError as exc:
            raise ValidationException(str(exc), node=self.node, file_name=self.filename) from exc
        return self.spec_class(
            self.spec,
            self.bpmn_id,
            connector=service_connector(self.node),
            input_mappings=inputs,
            output_mappings=outputs,
            max_attempts=attempts,
            **self.bpmn_attributes,
        )


class FgBusinessRuleTaskParser(_FlowgateNodeMixin, TaskParser):
    """A business rule task becomes a job of the ``decision`` connector (business_rules.py)."""

    def create_task(self) -> Any:
        ref = decision_ref(self.node)
        if ref is None or ref.problem:
            message = ref.problem if ref else "A business rule task needs a decision (decisionRef)."
            raise ValidationException(message, node=self.node, file_name=self.filename)
        inputs = [
            ["decision", repr(ref.key)],
            ["version", repr(ref.version) if ref.version is not None else "null"],
            ["result_variable", repr(ref.result_variable)],
            ["map_result", repr(ref.map_result)],
            ["gate", "true" if ref.gate else "false"],
        ]
        try:
            attempts = max_attempts_of(self.node)
        except ValueError as exc:
            raise ValidationException(str(exc), node=self.node, file_name=self.filename) from exc
        return self.spec_class(
            self.spec,
            self.bpmn_id,
            connector=DECISION_CONNECTOR,
            input_mappings=inputs,
            output_mappings=[],
            max_attempts=attempts,
            **self.bpmn_attributes,
        )


class FgGatewayParser(_FlowgateNodeMixin, GatewayParser):
    pass


class FgConditionalGatewayParser(_FlowgateNodeMixin, ConditionalGatewayParser):
    pass


class FgSubWorkflowParser(_FlowgateNodeMixin, SubWorkflowParser):
    pass


class FgCallActivityParser(_FlowgateNodeMixin, CallActivityParser):
    pass


class FgStartEventParser(_FlowgateNodeMixin, StartEventParser):
    pass


class FgEndEventParser(_FlowgateNodeMixin, EndEventParser):
    pass


class FgIntermediateCatchEventParser(_FlowgateNodeMixin, IntermediateCatchEventParser):
    pass


class FgIntermediateThrowEventParser(_FlowgateNodeMixin, IntermediateThrowEventParser):
    pass


class FgBoundaryEventParser(_FlowgateNodeMixin, BoundaryEventParser):
    pass


class FgReceiveTaskParser(_FlowgateNodeMixin, ReceiveTaskParser):
    pass


class FgSendTaskParser(_FlowgateNodeMixin, SendTaskParser):
    pass


class FgEventBasedGatewayParser(_FlowgateNodeMixin, EventBasedGatewayParser):
    pass


class FlowgateBpmnParser(BpmnParser):
    OVERRIDE_PARSER_CLASSES = {
        full_tag("userTask"): (FgTaskParser, FlowgateUserTask),
        full_tag("task"): (FgTaskParser, FlowgateNoneTask),
        full_tag("manualTask"): (FgTaskParser, FlowgateManualTask),
        full_tag("serviceTask"): (FgServiceTaskParser, FlowgateServiceTask),
        full_tag("businessRuleTask"): (FgBusinessRuleTaskParser, FlowgateBusinessRuleTask),
        full_tag("scriptTask"): (None, None),
        full_tag("transaction"): (None, None),
        full_tag("adHocSubProcess"): (None, None),
        full_tag("startEvent"): (FgStartEventParser, FlowgateStartEvent),
        full_tag("endEvent"): (FgEndEventParser, EndEvent),
        full_tag("intermediateCatchEvent"): (
            FgIntermediateCatchEventParser,
            IntermediateCatchEvent,
        ),
        full_tag("intermediateThrowEvent"): (
            FgIntermediateThrowEventParser,
            IntermediateThrowEvent,
        ),
        full_tag("boundaryEvent"): (FgBoundaryEventParser, BoundaryEvent),
        full_tag("receiveTask"): (FgReceiveTaskParser, ReceiveTask),
        full_tag("sendTask"): (FgSendTaskParser, SendTask),
        full_tag("eventBasedGateway"): (FgEventBasedGatewayParser, EventBasedGateway),
        full_tag("subProcess"): (FgSubWorkflowParser, SubWorkflowTask),
        full_tag("callActivity"): (FgCallActivityParser, CallActivity),
        full_tag("exclusiveGateway"): (FgConditionalGatewayParser, ExclusiveGateway),
        full_tag("inclusiveGateway"): (FgConditionalGatewayParser, InclusiveGateway),
        full_tag("parallelGateway"): (FgGatewayParser, ParallelGateway),
    }

    def __init__(self, *, known_roles: Collection[str] | None = None) -> None:
        super().__init__(namespaces=dict(NSMAP), validator=None)
        self.known_roles = known_roles
