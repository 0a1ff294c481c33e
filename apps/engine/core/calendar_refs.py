"""Which business calendars a timer's "N business days" count in, read from the model.

A boundary timer on a user task counts in that task's ``flowgate:calendar``, then its process's;
an intermediate timer in its process's. The runtime resolves the names (the portal default and
the built-in week come after them), so the core only reads the attributes.
"""

from __future__ import annotations

from .business_rules import FLOWGATE_NS
from .xml import parse_xml

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_NS = {"bpmn": BPMN_NS}
_CALENDAR = f"{{{FLOWGATE_NS}}}calendar"


def timer_calendars(xml: str | bytes) -> dict[str, tuple[str, ...]]:
    """Timer event id -> the calendar names to try, most specific first (empty names dropped)."""
    root = parse_xml(xml)
    found: dict[str, tuple[str, ...]] = {}
    for process in root.iterfind("bpmn:process", _NS):
        process_calendar = (process.get(_CALENDAR) or "").strip()
        by_id = {node.get("id"): node for node in process.iter() if node.get("id")}
        for definition in process.iterfind(".//bpmn:timerEventDefinition", _NS):
            event = definition.getparent()
            event_id = event.get("id") if event is not None else None
            if not event_id:
                continue
            names = []
            attached = by_id.get(event.get("attachedToRef") or "")
            if attached is not None:
                names.append((attached.get(_CALENDAR) or "").strip())
            names.append(process_calendar)
            found[event_id] = tuple(name for name in names if name)
    return found
