"""Modelling problems as a business user reads them.

The engine's lint speaks the file's vocabulary (``flowgate:connector``,
``camunda:type="external"``, raw element ids), and the same fact can reach the designer from two
checks (the importer and the compiler, or the compiler's lint and Flowgate's connector check).
``problems_for_people`` gives each problem once, names its element (the id stays as
``element_id`` for tools and for selecting it in the diagram), and says what to do in the words
of the properties panel. The engine's messages stay as they are for the engine's own tests and
logs; only what Flowgate shows people is reworded here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from lxml import etree

from apps.engine.core.xml import parse_xml
from apps.processes.labels import element_type_label

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"

#: Codes whose message is rewritten entirely: {what} is the element ("Service task “Send
#: invoice”"), {detail} the engine's message.
REWORDED = {
    "service_task_without_connector": "{what} does not say what it does: pick a connector "
    "under Connector in the properties panel.",
    "unsupported_java_delegate": "{what} runs Java code from Camunda, which Flowgate cannot run: "
    "pick a connector under Connector instead.",
    "user_task_unassigned": "Nobody would get {what_lower}: choose the roles or people who may "
    "do it under People in the properties panel (or put it in a lane named after a role).",
    "unsupported_scriptTask": "{what} is a script, which Flowgate does not run: make it a "
    "service task and pick a connector.",
    "not_executable": "The process is marked as not executable: tick Executable on the process "
    "in the properties panel.",
}

#: Engine words left in other messages, and what the properties panel calls them.
_ENGINE_WORDS = (
    (re.compile(r'\s*\(flowgate:connector, or camunda:type="external" with camunda:topic\)'), ""),
    (re.compile(r'camunda:type="external" with (a topic|camunda:topic)'), "a connector"),
    (re.compile(r'camunda:type="external"'), "an external task"),
    (re.compile(r"\bflowgate:connector\b"), "connector"),
    (re.compile(r"\bflowgate:calledVersion\b"), "called version"),
    (re.compile(r"\bcalledElementBinding\b"), "called version setting"),
    (re.compile(r"\b(?:flowgate|camunda|zeebe):(\w+)"), r"\1"),
    (re.compile(r"<bpmn:(\w+)>"), r"\1"),
    (re.compile(r"\bbpmn:(\w+)"), r"\1"),
)
_FLOW_IN_MESSAGE = re.compile(r"outgoing flow '([^']+)'")


def _words(text: str) -> str:
    for pattern, replacement in _ENGINE_WORDS:
        text = pattern.sub(replacement, text)
    return text


def _elements(xml: bytes | str | None) -> dict[str, tuple[str, str]]:
    """element id -> (kind, name) for every BPMN element of ``xml`` ({} when it cannot be read)."""
    if not xml:
        return {}
    try:
        root = parse_xml(xml.encode("utf-8") if isinstance(xml, str) else xml)
    except Exception:  # noqa: BLE001 - an unreadable file has its own problem already
        return {}
    found: dict[str, tuple[str, str]] = {}
    for node in root.iter():
        if isinstance(node.tag, str) and node.tag.startswith(BPMN) and node.get("id"):
            found[node.get("id")] = (etree.QName(node).localname, (node.get("name") or "").strip())
    return found


def _label(kind: str, name: str) -> str:
    return element_type_label(kind)


def problems_for_people(problems: Iterable[dict], xml: bytes | str | None) -> list[dict[str, Any]]:
    """Each problem once, reworded: ``{element_id, element_name, element_type, code, message}``
    plus ``related_id`` (the path a decision's problem is about) where there is one."""
    elements = _elements(xml)
    result: list[dict[str, Any]] = []
    seen: set[tuple] = set()
    for problem in problems:
        element_id = problem.get("element_id")
        code = problem.get("code") or "problem"
        kind, name = elements.get(element_id or "", ("", ""))
        element_type = _label(kind, name) if element_id in elements else ""
        named = f"“{name}”" if name else ""
        what = f"{element_type} {named}".strip() if element_type else (named or "This element")
        detail = str(problem.get("message") or "")
        related = None
        if code == "gateway_flow_without_condition":
            match = _FLOW_IN_MESSAGE.search(detail)
            related = match.group(1) if match else None
            path_kind, path_name = elements.get(related or "", ("", ""))
            target = f"“{path_name}”" if path_name else "one of its paths"
            message = (
                f"{what}: the path {target} has no condition and is not the default path: add a "
                "condition to it, or make it the default path."
            )
        elif code in REWORDED:
            message = REWORDED[code].format(
                what=what, what_lower=what[:1].lower() + what[1:], detail=detail
            )
        else:
            message = _words(detail)
        key = (element_id, code, related)
        if key in seen or (element_id, message) in seen:
            continue  # one fact, said once (two checks found it)
        seen.update({key, (element_id, message)})
        entry: dict[str, Any] = {
            "element_id": element_id,
            "element_name": name or None,
            "element_type": element_type or None,
            "code": code,
            "message": message,
        }
        if related:
            entry["related_id"] = related
        result.append(entry)
    return result
