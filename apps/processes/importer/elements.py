"""The element-by-element conversion: Camunda 7 and 8 task settings, forms, messages,
input/output mappings and conditions become Flowgate ones, or problems on their element."""

from __future__ import annotations

import json
import re
from typing import Any

from lxml import etree

from .feel import JUEL_METHOD, feel_to_expression, feel_value, wrapped
from .vocabulary import (
    CAMUNDA_USER_TASK_ATTRS,
    FG,
    FORM_TYPES,
    LANGUAGE_NAMES,
    READ_LANGUAGES,
    B,
    C,
    Z,
)


def _problem(element_id: str | None, code: str, message: str) -> dict:
    return {"element_id": element_id, "code": code, "message": message}


def _id(node: Any) -> str | None:
    while node is not None:
        if node.get("id"):
            return node.get("id")
        node = node.getparent()
    return None


def _ext(node: Any, create: bool = False) -> Any:
    ext = node.find(f"{B}extensionElements")
    if ext is None and create:
        ext = etree.Element(f"{B}extensionElements")
        node.insert(0, ext)
    return ext


def _label(node: Any) -> str:
    name = node.get("name")
    return f"'{name}'" if name else f"'{node.get('id')}'"


class Importer:
    def __init__(self, root: Any) -> None:
        self.root = root
        self.mapped: list[dict] = []
        self.problems: list[dict] = []
        self.language = self._language_name(root.get("expressionLanguage") or "")

    def note(self, node: Any, message: str) -> None:
        self.mapped.append({"element_id": _id(node), "message": message})

    @staticmethod
    def _language_name(uri: str) -> str | None:
        text = uri.strip()
        if not text:
            return None
        return LANGUAGE_NAMES.get(text.lower(), text)

    def run(self) -> None:
        for node in list(self.root.iter()):
            if not isinstance(node.tag, str):
                continue
            try:
                self.convert(node)
            except (ValueError, TypeError) as exc:  # a malformed foreign attribute
                self.problems.append(
                    _problem(_id(node), "import_failed", f"Could not read this element: {exc}")
                )
        if self.mapped:  # extension elements emptied by the mapping go too
            for ext in list(self.root.iter(f"{B}extensionElements")):
                if not any(isinstance(c.tag, str) for c in ext) and ext.getparent() is not None:
                    ext.getparent().remove(ext)

    def convert(self, node: Any) -> None:
        tag = node.tag
        if tag == f"{B}userTask":
            self.user_task(node)
        if tag in (f"{B}serviceTask", f"{B}sendTask", f"{B}businessRuleTask", f"{B}scriptTask"):
            self.service_task(node)
        if tag == f"{B}businessRuleTask":
            self.business_rule_task(node)
        if tag == f"{B}callActivity":
            self.call_activity(node)
        if tag == f"{B}multiInstanceLoopCharacteristics":
            self.multi_instance(node)
        if tag == f"{B}conditionExpression" or tag == f"{B}completionCondition":
            self.condition(node)
        if tag == f"{B}message":
            self.message(node)
        ext = _ext(node)
        if ext is not None:
            self.io_mappings(node, ext)

    # -- Camunda 7 + 8: tasks ----------------------------------------------------------------

    def user_task(self, node: Any) -> None:
        for attr in CAMUNDA_USER_TASK_ATTRS:
            value = node.attrib.pop(f"{C}{attr}", None)
            if value is not None and node.get(f"{FG}{attr}") is None:
                node.set(f"{FG}{attr}", value)
                self.note(node, f"camunda:{attr} '{value}' -> {attr}")
        ext = _ext(node)
        if ext is None:
            return
        form_data = ext.find(f"{C}formData")
        if form_data is not None:
            self.camunda_form(node, ext, form_data)
        assignment = ext.find(f"{Z}assignmentDefinition")
        if assignment is not None:
            for attr in ("assignee", "candidateGroups", "candidateUsers"):
                if assignment.get(attr):
                    self.zeebe_attr(node, attr, assignment.get(attr))
            ext.remove(assignment)
        schedule = ext.find(f"{Z}taskSchedule")
        if schedule is not None:
            if schedule.get("dueDate"):
                self.zeebe_attr(node, "dueDate", schedule.get("dueDate"))
            ext.remove(schedule)
        definition = ext.find(f"{Z}formDefinition")
        if definition is not None:
            key = definition.get("formKey") or definition.get("formId") or ""
            embedded = self.zeebe_embedded_form(key)
            if embedded is not None:
                self.set_form(node, embedded)
                self.note(node, "the embedded Camunda form -> form")
            elif key:
                node.set(f"{FG}formKey", key)
                self.note(node, f"zeebe:formDefinition '{key}' -> form key")
            ext.remove(definition)

    def zeebe_attr(self, node: Any, attr: str, raw: str) -> None:
        value, problem = feel_value(raw)
        if value is None:
            self.problems.append(
                _problem(
                    node.get("id"),
                    "unsupported_feel",
                    f"{_label(node)}: the {attr} '{raw}' is FEEL that Flowgate does not run "
                    f"({problem}); set it in the properties panel.",
                )
            )
            return
        node.set(f"{FG}{attr}", value)
        self.note(node, f"zeebe {attr} '{raw}' -> {attr} '{value}'")

    def zeebe_embedded_form(self, key: str) -> dict | None:
        if not key.startswith("camunda-forms:bpmn:"):
            return None
        form_id = key.rsplit(":", 1)[-1]
        for form in self.root.iter(f"{Z}userTaskForm"):
            if form.get("id") == form_id:
                try:
                    schema = json.loads(form.text or "")
                except ValueError:
                    return None
                return schema if isinstance(schema, dict) else None
        return None

    def camunda_form(self, node: Any, ext: Any, form_data: Any) -> None:
        components = []
        for form_field in form_data.findall(f"{C}formField"):
            key = form_field.get("id") or ""
            kind = FORM_TYPES.get((form_field.get("type") or "string").lower(), "textfield")
            component: dict[str, Any] = {
                "type": kind,
                "key": key,
                "label": form_field.get("label") or key,
            }
            if kind == "datetime":
                component["subtype"] = "date"
                component["dateLabel"] = component.pop("label")
            if kind == "select":
                component["values"] = [
                    {"label": v.get("name") or v.get("id"), "value": v.get("id")}
                    for v in form_field.findall(f"{C}value")
                ]
            default = form_field.get("defaultValue")
            if default is not None:
                if kind == "checkbox":
                    component["defaultValue"] = default.strip().lower() == "true"
                elif kind == "number" and re.fullmatch(r"-?\d+(\.\d+)?", default.strip()):
                    component["defaultValue"] = float(default) if "." in default else int(default)
                else:
                    component["defaultValue"] = default
            constraints = {
                c.get("name"): c.get("config")
                for c in form_field.iterfind(f"{C}validation/{C}constraint")
            }
            if "required" in constraints:
                component["validate"] = {"required": True}
            components.append(component)
        ext.remove(form_data)
        self.set_form(node, {"type": "default", "components": components})
        self.note(node, f"camunda:formField ({len(components)} field(s)) -> form")

    def set_form(self, node: Any, schema: dict) -> None:
        ext = _ext(node, create=True)
        if ext.find(f"{FG}form") is not None:
            return
        form = etree.SubElement(ext, f"{FG}form")
        form.text = json.dumps(schema)

    def service_task(self, node: Any) -> None:
        kind = node.attrib.pop(f"{C}type", None)
        topic = node.attrib.pop(f"{C}topic", None)
        if kind == "external" and topic and node.get(f"{FG}connector") is None:
            node.set(f"{FG}connector", topic.strip())
            self.note(node, f"external task topic '{topic}' -> connector '{topic.strip()}'")
        elif kind is not None:  # put back what we do not map (the lint explains it)
            node.set(f"{C}type", kind)
            if topic is not None:
                node.set(f"{C}topic", topic)
        ext = _ext(node)
        definition = ext.find(f"{Z}taskDefinition") if ext is not None else None
        if definition is not None:
            job_type = (definition.get("type") or "").strip()
            if job_type.startswith("="):
                self.problems.append(
                    _problem(
                        node.get("id"),
                        "unsupported_feel",
                        f"{_label(node)}: the job type '{job_type}' is an expression; choose a "
                        "connector in the properties panel.",
                    )
                )
            elif job_type:
                node.set(f"{FG}connector", job_type)
                self.note(node, f"zeebe:taskDefinition type '{job_type}' -> connector")
            retries = (definition.get("retries") or "").strip()
            if retries.isdigit() and int(retries) >= 1:
                node.set(f"{FG}maxAttempts", retries)
                self.note(node, f"zeebe retries {retries} -> max attempts")
            ext.remove(definition)

    def business_rule_task(self, node: Any) -> None:
        """camunda:decisionRef & co. and zeebe:calledDecision -> flowgate: decision attributes
        (Camunda 7's default result mapping, resultList, is kept explicitly)."""
        key = node.attrib.pop(f"{C}decisionRef", None)
        if key is not None and node.get(f"{FG}decisionRef") is None:
            node.set(f"{FG}decisionRef", key.strip())
            self.note(node, f"camunda:decisionRef '{key}' -> decision")
            mode = node.attrib.pop(f"{C}mapDecisionResult", None) or "resultList"
            node.set(f"{FG}mapDecisionResult", mode.strip())
            binding = node.attrib.pop(f"{C}decisionRefBinding", None)
            version = node.attrib.pop(f"{C}decisionRefVersion", None)
            if (binding or "").strip() == "version" and version is not None:
                node.set(f"{FG}decisionVersion", version.strip())
                self.note(node, f"decision version {version} pinned")
            elif binding is not None and binding.strip() not in ("latest", "deployment"):
                node.set(f"{C}decisionRefBinding", binding)  # the lint names it
        elif key is not None:
            node.set(f"{C}decisionRef", key)
        result = node.attrib.pop(f"{C}resultVariable", None)
        if result is not None and node.get(f"{FG}resultVariable") is None:
            node.set(f"{FG}resultVariable", result.strip())
        ext = _ext(node)
        called = ext.find(f"{Z}calledDecision") if ext is not None else None
        if called is not None:
            decision_id = (called.get("decisionId") or "").strip()
            if decision_id.startswith("="):
                self.problems.append(
                    _problem(
                        node.get("id"),
                        "unsupported_feel",
                        f"{_label(node)}: the decision id '{decision_id}' is an expression; "
                        "choose the decision in the properties panel.",
                    )
                )
                return
            if decision_id and node.get(f"{FG}decisionRef") is None:
                node.set(f"{FG}decisionRef", decision_id)
                variable = (called.get("resultVariable") or "").strip()
                if variable and node.get(f"{FG}resultVariable") is None:
                    node.set(f"{FG}resultVariable", variable)
                self.note(node, f"zeebe:calledDecision '{decision_id}' -> decision")
            ext.remove(called)

    def call_activity(self, node: Any) -> None:
        ext = _ext(node)
        called = ext.find(f"{Z}calledElement") if ext is not None else None
        if called is not None:
            process_id = (called.get("processId") or "").strip()
            if process_id and not process_id.startswith("="):
                node.set("calledElement", process_id)
                self.note(node, f"zeebe:calledElement '{process_id}' -> called process")
            ext.remove(called)

    def multi_instance(self, node: Any) -> None:
        for attr in ("collection", "elementVariable"):
            value = node.attrib.pop(f"{C}{attr}", None)
            if value is not None:
                node.set(f"{FG}{attr}", value.strip()[2:-1].strip() if wrapped(value) else value)
                self.note(node, f"camunda:{attr} -> {attr}")
        ext = _ext(node)
        loop = ext.find(f"{Z}loopCharacteristics") if ext is not None else None
        if loop is not None:
            collection = (loop.get("inputCollection") or "").strip().lstrip("=").strip()
            if re.fullmatch(r"[A-Za-z_]\w*", collection):
                node.set(f"{FG}collection", collection)
                node.set(f"{FG}elementVariable", loop.get("inputElement") or "item")
                self.note(node, f"zeebe inputCollection '{collection}' -> collection")
            else:
                self.problems.append(
                    _problem(
                        _id(node),
                        "unsupported_feel",
                        f"The input collection '{collection}' must be a variable name.",
                    )
                )
            ext.remove(loop)
            if not len(ext):
                node.remove(ext)

    def message(self, node: Any) -> None:
        ext = _ext(node)
        subscription = ext.find(f"{Z}subscription") if ext is not None else None
        if subscription is None:
            return
        key = subscription.get("correlationKey") or ""
        ext.remove(subscription)
        expression, problem = feel_to_expression(key) if key else (None, "it is empty")
        waiting = [
            n
            for n in self.root.iter(
                f"{B}intermediateCatchEvent", f"{B}boundaryEvent", f"{B}receiveTask"
            )
            if n.get("messageRef") == node.get("id")
            or any(
                d.get("messageRef") == node.get("id") for d in n.iter(f"{B}messageEventDefinition")
            )
        ]
        for target in waiting:
            if expression is None:
                self.problems.append(
                    _problem(
                        target.get("id"),
                        "unsupported_feel",
                        f"The correlation key '{key}' is not supported ({problem}).",
                    )
                )
            else:
                target.set(f"{FG}correlationKey", expression)
                self.note(target, f"zeebe correlation key '{key}' -> '{expression}'")

    # -- input/output mappings ----------------------------------------------------------------

    def add_mapping(self, ext: Any, kind: str, name: str, expression: str) -> None:
        mapping = etree.SubElement(ext, f"{FG}{kind}")
        mapping.set("name", name)
        mapping.set("expression", expression)

    def io_mappings(self, node: Any, ext: Any) -> None:
        camunda = ext.find(f"{C}inputOutput")
        if camunda is not None:
            for param in camunda:
                if not isinstance(param.tag, str):
                    continue
                kind = {f"{C}inputParameter": "input", f"{C}outputParameter": "output"}.get(
                    param.tag
                )
                name = param.get("name") or ""
                if kind is None or not name:
                    continue
                if len(param):  # camunda:list / camunda:map / camunda:script
                    self.problems.append(
                        _problem(
                            node.get("id"),
                            "unsupported_mapping",
                            f"{_label(node)}: the {kind} '{name}' is a list, map or script; "
                            "write it as one expression in the properties panel.",
                        )
                    )
                    continue
                text = (param.text or "").strip()
                inner = text[2:-1].strip() if wrapped(text) else None
                if kind == "output" and inner and re.fullmatch(r"[A-Za-z_]\w*", inner):
                    # An external task's result variable: Flowgate outputs read `result`.
                    expression = f"get(result, '{inner}')"
                else:
                    expression = inner if inner is not None else repr(text)
                self.add_mapping(ext, kind, name, expression)
                self.note(node, f"camunda:{kind}Parameter '{name}' -> {kind} '{expression}'")
            ext.remove(camunda)
        zeebe = ext.find(f"{Z}ioMapping")
        if zeebe is not None:
            for param in zeebe:
                kind = {f"{Z}input": "input", f"{Z}output": "output"}.get(param.tag)
                name = param.get("target") or ""
                source = (param.get("source") or "").strip()
                if kind is None or not name:
                    continue
                if kind == "output" and re.fullmatch(r"=?\s*[A-Za-z_]\w*", source):
                    # A job's result variable: Flowgate outputs read it from `result`.
                    expression = f"get(result, '{source.lstrip('=').strip()}')"
                elif source.startswith("="):
                    translated, problem = feel_to_expression(source)
                    if translated is None:
                        self.problems.append(
                            _problem(
                                node.get("id"),
                                "unsupported_feel",
                                f"{_label(node)}: the {kind} '{name}' = '{source}' is FEEL that "
                                f"Flowgate does not run ({problem}).",
                            )
                        )
                        continue
                    expression = translated
                else:
                    expression = repr(source)
                self.add_mapping(ext, kind, name, expression)
                self.note(node, f"zeebe {kind} '{name}' -> {kind} '{expression}'")
            ext.remove(zeebe)

    # -- conditions -----------------------------------------------------------------------------

    def condition(self, node: Any) -> None:
        owner = node.getparent()
        element_id = _id(node)
        what = "condition" if node.tag == f"{B}conditionExpression" else "completion condition"
        language = self._language_name(node.get("language") or "") or self.language
        text = (node.text or "").strip()
        if language and language not in READ_LANGUAGES:
            self.problems.append(
                _problem(
                    element_id,
                    "unsupported_condition_language",
                    f"The {what} of {_label(owner)} is written in {language}, which Flowgate "
                    "does not run: rewrite it as a Flowgate expression such as amount > 1000.",
                )
            )
            return
        if text.startswith("=") or language == "FEEL":
            expression, problem = feel_to_expression(text)
            if expression is None:
                self.problems.append(
                    _problem(
                        element_id,
                        "unsupported_condition_language",
                        f"The {what} of {_label(owner)} is FEEL beyond the common subset "
                        f"Flowgate runs ({problem}): rewrite it as comparisons joined by and/or.",
                    )
                )
                return
            node.text = expression
            node.attrib.pop("language", None)
            self.note(owner, f"FEEL {what} '{text}' -> '{expression}'")
        elif wrapped(text) and JUEL_METHOD.search(text):
            self.problems.append(
                _problem(
                    element_id,
                    "unsupported_condition_language",
                    f"The {what} of {_label(owner)} calls JUEL methods ('{text}'), which "
                    "Flowgate does not run: compare variables directly, such as amount > 1000.",
                )
            )
