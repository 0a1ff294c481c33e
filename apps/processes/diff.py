"""Compare two versions of a process: which elements were added, removed or changed, and which
of their properties changed. Layout (diagram interchange) is not compared: moving a shape does
not change what the process does."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from apps.engine.core.xml import parse_xml
from apps.processes.labels import element_type_label, property_label

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
PREFIXES = {
    BPMN_NS: "",
    "http://flowgate.dev/schema/bpmn/1.0": "flowgate:",
    "http://camunda.org/schema/1.0/bpmn": "camunda:",
    "http://camunda.org/schema/zeebe/1.0": "zeebe:",
    "http://www.w3.org/2001/XMLSchema-instance": "xsi:",
}
# Children that are derived from other elements (flows list their ends) or compared separately.
SKIPPED_CHILDREN = {"incoming", "outgoing", "flowNodeRef"}
# Containers whose children are elements of their own.
CONTAINERS = {"process", "subProcess", "laneSet", "lane"}
MAX_VALUE = 300


@dataclass
class ElementChange:
    id: str
    type: str
    name: str
    changes: list[dict] = field(default_factory=list)

    @property
    def type_label(self) -> str:
        return element_type_label(self.type)

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "type": self.type,
            "type_label": self.type_label,
            "name": self.name,
            "changes": self.changes,
        }


@dataclass
class VersionDiff:
    added: list[ElementChange]
    removed: list[ElementChange]
    changed: list[ElementChange]

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def as_dict(self) -> dict:
        return {
            "added": [e.as_dict() for e in self.added],
            "removed": [e.as_dict() for e in self.removed],
            "changed": [e.as_dict() for e in self.changed],
        }


def _qname(tag: str) -> tuple[str, str]:
    ns, _, local = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
    return ns, local


def _attr_name(key: str) -> str:
    ns, local = _qname(key)
    return PREFIXES.get(ns, f"{{{ns}}}" if ns else "") + local


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def _text_of(node: Any) -> str:
    """A stable text for a child element: its attributes, text and children, in order."""
    ns, local = _qname(node.tag)
    attrs = " ".join(f"{_attr_name(k)}={v}" for k, v in sorted(node.attrib.items()))
    inner = " ".join(_text_of(c) for c in node if isinstance(c.tag, str))
    text = (node.text or "").strip()
    if local == "form" and text:
        try:
            text = json.dumps(json.loads(text), sort_keys=True)
        except ValueError:
            pass
    parts = [p for p in (attrs, text, inner) if p]
    return f"{PREFIXES.get(ns, '')}{local}({' '.join(parts)})"


def _form_summary(node: Any) -> str:
    """A form as a person compares it: its fields by label and kind, in order (the exact JSON
    when it cannot be read)."""
    try:
        schema = json.loads((node.text or "").strip())
        fields = [
            f"{c.get('label') or c.get('key')} ({c.get('type')}"
            + (", required" if (c.get("validate") or {}).get("required") else "")
            + ")"
            for c in schema.get("components", [])
            if isinstance(c, dict) and c.get("key")
        ]
    except (ValueError, AttributeError):
        return _text_of(node)
    return "Fields: " + ", ".join(fields) if fields else "No fields"


def _properties(node: Any) -> dict[str, str]:
    props: dict[str, str] = {}
    for key, value in node.attrib.items():
        name = _attr_name(key)
        if name != "id":
            props[name] = value
    counts: dict[str, int] = {}
    for child in node:
        if not isinstance(child.tag, str):
            continue
        ns, local = _qname(child.tag)
        if local in SKIPPED_CHILDREN or (ns == BPMN_NS and local in CONTAINERS):
            continue
        if ns == BPMN_NS and child.get("id") and local not in ("conditionExpression",):
            continue  # a nested element: compared on its own
        if local == "extensionElements":
            for ext in child:
                if not isinstance(ext.tag, str):
                    continue
                ext_ns, ext_local = _qname(ext.tag)
                label = PREFIXES.get(ext_ns, "") + ext_local
                if ext.get("name"):
                    label += f" '{ext.get('name')}'"
                counts[label] = counts.get(label, 0) + 1
                if counts[label] > 1:
                    label += f" #{counts[label]}"
                props[label] = _form_summary(ext) if ext_local == "form" else _text_of(ext)
            continue
        if local == "conditionExpression":
            props["condition"] = (child.text or "").strip()
        elif local == "documentation":
            props["documentation"] = (child.text or "").strip()
        else:
            label = local
            counts[label] = counts.get(label, 0) + 1
            if counts[label] > 1:
                label += f" #{counts[label]}"
            props[label] = _text_of(child)
    return props


def _elements(xml: str | bytes) -> dict[str, tuple[str, str, dict[str, str]]]:
    """id -> (type, name, properties) of every element of the processes (nested too), plus the
    processes themselves and the definitions' messages, errors and signals."""
    root = parse_xml(xml.encode("utf-8") if isinstance(xml, str) else xml)
    found: dict[str, tuple[str, str, dict[str, str]]] = {}

    def walk(node: Any) -> None:
        for child in node:
            if not isinstance(child.tag, str):
                continue
            ns, local = _qname(child.tag)
            if ns != BPMN_NS:
                continue
            if child.get("id") and local not in ("extensionElements", "conditionExpression"):
                if local != "laneSet" and not local.endswith("EventDefinition"):
                    found[child.get("id")] = (local, child.get("name") or "", _properties(child))
            if local in CONTAINERS or local == "laneSet":
                walk(child)

    for top in root:
        if not isinstance(top.tag, str):
            continue
        ns, local = _qname(top.tag)
        if ns == BPMN_NS and local in ("process", "message", "error", "signal", "escalation"):
            found[top.get("id") or local] = (local, top.get("name") or "", _properties(top))
            if local == "process":
                walk(top)
    return found


def versions_diff(*, before: str | bytes, after: str | bytes) -> VersionDiff:
    """What changed from ``before`` to ``after`` (both BPMN XML)."""
    old, new = _elements(before), _elements(after)
    added = [ElementChange(i, new[i][0], new[i][1]) for i in new if i not in old]
    removed = [ElementChange(i, old[i][0], old[i][1]) for i in old if i not in new]
    changed = []
    for element_id in new:
        if element_id not in old:
            continue
        old_type, _, old_props = old[element_id]
        new_type, name, new_props = new[element_id]
        changes: list[dict[str, str | None]] = []
        if old_type != new_type:
            changes.append(
                {
                    "property": "type",
                    "label": property_label("type"),
                    "before": element_type_label(old_type),
                    "after": element_type_label(new_type),
                }
            )
        for prop in sorted(set(old_props) | set(new_props)):
            if old_props.get(prop) != new_props.get(prop):
                changes.append(
                    {
                        "property": prop,
                        "label": property_label(prop),
                        "before": _short(old_props[prop]) if prop in old_props else None,
                        "after": _short(new_props[prop]) if prop in new_props else None,
                    }
                )
        if changes:
            changed.append(ElementChange(element_id, new_type, name, changes))
    return VersionDiff(added=added, removed=removed, changed=changed)
