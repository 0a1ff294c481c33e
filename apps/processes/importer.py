"""Import BPMN files written for Camunda 7 or Camunda 8 (Zeebe): their task settings become
Flowgate settings (``flowgate:`` attributes and extension elements), FEEL conditions of the
common subset become Flowgate expressions, and conditions in a language Flowgate does not run
are reported as exactly that, on their element.

``bpmn_import`` returns the converted file, what was mapped (for the person importing it) and
the problems found on the way. A file with nothing foreign in it is returned unchanged.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from apps.engine.core.expressions import check

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
FLOWGATE_NS = "http://flowgate.dev/schema/bpmn/1.0"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
B = f"{{{BPMN_NS}}}"
C = f"{{{CAMUNDA_NS}}}"
Z = f"{{{ZEEBE_NS}}}"
FG = f"{{{FLOWGATE_NS}}}"

# camunda:<attr> on a user task -> flowgate:<attr> (same meaning, same value syntax)
CAMUNDA_USER_TASK_ATTRS = (
    "candidateGroups",
    "candidateUsers",
    "assignee",
    "dueDate",
    "priority",
    "formKey",
)
LANGUAGE_NAMES = {
    "http://www.w3.org/1999/xpath": "XPath",
    "xpath": "XPath",
    "javascript": "JavaScript",
    "js": "JavaScript",
    "ecmascript": "JavaScript",
    "groovy": "Groovy",
    "python": "Python",
    "jython": "Python",
    "ruby": "Ruby",
    "juel": "JUEL",
    "feel": "FEEL",
    "http://www.omg.org/spec/feel/20140401": "FEEL",
}
# Languages whose common subset Flowgate reads: JUEL ${...} and FEEL.
READ_LANGUAGES = {"JUEL", "FEEL"}
FULL_FEEL = (
    (re.compile(r"\bbetween\b"), "'between'"),
    (re.compile(r"\bsatisfies\b"), "quantified expressions (some/every ... satisfies)"),
    (re.compile(r"\bfor\s+\w+\s+in\b"), "'for' loops"),
    (re.compile(r"\bif\b.*\bthen\b"), "if/then/else"),
    (re.compile(r"\binstance\s+of\b"), "'instance of'"),
    (re.compile(r"\bfunction\s*\("), "function definitions"),
    (re.compile(r"@\""), 'temporal literals (@"...")'),
    (re.compile(r"\b(date|time|date and time|duration)\s*\("), "date and time functions"),
)
FEEL_FUNCTIONS = {
    "list contains": "contains",
    "string length": "len",
    "upper case": "upper",
    "lower case": "lower",
    "starts with": "startswith",
    "ends with": "endswith",
    "count": "len",
}
JUEL_METHOD = re.compile(r"[A-Za-z_]\w*\s*\.\s*[A-Za-z_]\w*\s*\(")
FORM_TYPES = {
    "string": "textfield",
    "long": "number",
    "double": "number",
    "boolean": "checkbox",
    "date": "datetime",
    "enum": "select",
}


@dataclass
class ImportResult:
    xml: bytes
    mapped: list[dict] = field(default_factory=list)  # {element_id, message}
    problems: list[dict] = field(default_factory=list)  # {element_id, code, message}

    @property
    def changed(self) -> bool:
        return bool(self.mapped)


def _problem(element_id: str | None, code: str, message: str) -> dict:
    return {"element_id": element_id, "code": code, "message": message}


def _outside_strings(text: str):
    """(position, char) of characters outside double- and single-quoted strings."""
    quote = None
    escaped = False
    for position, char in enumerate(text):
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = None
            continue
        if char in "\"'":
            quote = char
            continue
        yield position, char


def feel_to_expression(source: str) -> tuple[str | None, str | None]:
    """(Flowgate expression, None) for a FEEL expression of the common subset, else
    (None, why not). The leading ``=`` of Camunda 8 is optional."""
    text = source.strip()
    if text.startswith("="):
        text = text[1:].strip()
    outside = "".join(char if pos >= 0 else "" for pos, char in _outside_strings(text))
    for pattern, what in FULL_FEEL:
        if pattern.search(outside):
            return None, f"it uses {what}, which is full FEEL"
    for feel, ours in FEEL_FUNCTIONS.items():
        text = re.sub(rf"\b{feel}\s*\(", f"{ours}(", text)
    # Single "=" is equality in FEEL; "!=", "<=", ">=" stay.
    out = []
    previous = ""
    positions = {pos for pos, _ in _outside_strings(text)}
    for position, char in enumerate(text):
        following = text[position + 1] if position + 1 < len(text) else ""
        if position in positions and char == "=" and previous not in "!<>=" and following != "=":
            out.append("==")
        else:
            out.append(char)
        previous = char if position in positions else ""
    translated = "".join(out)
    # FEEL paths a.b.c read context entries: a['b']['c'].
    translated = _replace_outside_strings(
        translated,
        re.compile(r"\b([A-Za-z_]\w*)((?:\.[A-Za-z_]\w*)+)\b(?!\s*\()"),
        lambda m: m.group(1) + "".join(f"['{part}']" for part in m.group(2)[1:].split(".")),
    )
    problem = check(translated)
    if problem:
        return None, problem
    return translated, None


def _replace_outside_strings(text: str, pattern: re.Pattern, repl) -> str:
    positions = {pos for pos, _ in _outside_strings(text)}
    out = []
    last = 0
    for match in pattern.finditer(text):
        if match.start() not in positions:
            continue
        out.append(text[last : match.start()])
        out.append(repl(match))
        last = match.end()
    out.append(text[last:])
    return "".join(out)


def _wrapped(value: str) -> bool:
    text = value.strip()
    return text.startswith(("${", "#{")) and text.endswith("}")


def _feel_value(value: str) -> tuple[str | None, str | None]:
    """A Zeebe attribute value: ``=expr`` -> ``${expr}`` in Flowgate syntax; literals stay."""
    text = value.strip()
    if not text.startswith("="):
        return text, None
    expression, problem = feel_to_expression(text)
    if expression is None:
        return None, problem
    return "${" + expression + "}", None


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
        value, problem = _feel_value(raw)
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
                node.set(f"{FG}{attr}", value.strip()[2:-1].strip() if _wrapped(value) else value)
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
                inner = text[2:-1].strip() if _wrapped(text) else None
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
        elif _wrapped(text) and JUEL_METHOD.search(text):
            self.problems.append(
                _problem(
                    element_id,
                    "unsupported_condition_language",
                    f"The {what} of {_label(owner)} calls JUEL methods ('{text}'), which "
                    "Flowgate does not run: compare variables directly, such as amount > 1000.",
                )
            )


def _with_flowgate_prefix(root: Any) -> Any:
    """lxml cannot add a namespace declaration to an element: copy the root with one."""
    if root.nsmap.get("flowgate") == FLOWGATE_NS:
        return root
    nsmap = {**root.nsmap, "flowgate": FLOWGATE_NS}
    fresh = etree.Element(root.tag, nsmap=nsmap, attrib=dict(root.attrib))
    fresh.text = root.text
    for child in list(root):
        fresh.append(child)
    return fresh


def bpmn_import(root: Any, data: bytes) -> ImportResult:
    """Convert a parsed file (``root``, from the hardened parser; ``data`` its bytes)."""
    importer = Importer(root)
    importer.run()
    if not importer.mapped:
        return ImportResult(xml=data, problems=importer.problems)
    out = _with_flowgate_prefix(root)
    etree.cleanup_namespaces(out, top_nsmap={"flowgate": FLOWGATE_NS})
    xml = etree.tostring(out, xml_declaration=True, encoding="UTF-8")
    return ImportResult(xml=xml, mapped=importer.mapped, problems=importer.problems)
