"""Checks of one element by its kind: user and service tasks, timers, multi-instance."""

from __future__ import annotations

import re
from typing import Any

from ..business_rules import decision_ref
from ..business_time import parse_business_duration
from ..parser import (
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
from ..timers import TimerKind, is_iso_literal, normalize_timer_expression, validate_timer_value
from .base import LinterBase
from .vocabulary import is_bpmn, local

_IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ISO_LOOKING_RE = re.compile(r"^(P\d|PT|R\d*/|\d{4}-)", re.IGNORECASE)


class TaskChecks(LinterBase):
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
        for attribute, what in (("slaWarning", "SLA warning"), ("slaBreach", "SLA breach")):
            text = (fg_attr(node, attribute) or "").strip()
            if not text or parse_business_duration(text) is not None:
                continue
            problem = validate_timer_value("duration", text, allow_cron=False)
            if problem or not text.upper().startswith("P"):
                self.add(
                    node_id,
                    "bad_sla",
                    f"User task {self.label(node)}: the {what} '{text}' is neither business time "
                    "('4 business hours', '2 business days') nor an ISO-8601 duration (PT4H, P2D).",
                )
        _form, problem = form_schema(node)
        if problem:
            self.add(node_id, "bad_form", f"User task {self.label(node)}: {problem}")
        outcome = fg_attr(node, "outcomeVariable")
        if outcome is not None and not _IDENT_RE.match(outcome.strip()):
            self.add(node_id, "bad_outcome_variable", f"'{outcome}' is not a valid variable name.")

    def check_business_rule_task(self, node: Any) -> None:
        ref = decision_ref(node)
        if ref is None:
            self.add(
                node.get("id"),
                "business_rule_task_without_decision",
                f"Business rule task {self.label(node)} does not name a decision: choose one "
                "(flowgate:decisionRef, camunda:decisionRef or zeebe:calledDecision).",
            )
        elif ref.problem:
            self.add(node.get("id"), "bad_decision_ref", f"{self.label(node)}: {ref.problem}")

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
        if parse_business_duration(literal) is not None:
            if kind != "duration" or local(node.tag) == "startEvent":
                self.add(
                    node_id,
                    "bad_timer",
                    f"Timer {self.label(node)}: business time ('{literal}') is only for a "
                    "duration on an intermediate or boundary timer.",
                )
            return
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
