"""Import BPMN files written for Camunda 7 or Camunda 8 (Zeebe): their task settings become
Flowgate settings (``flowgate:`` attributes and extension elements), FEEL conditions of the
common subset become Flowgate expressions, and conditions in a language Flowgate does not run
are reported as exactly that, on their element.

``bpmn_import`` returns the converted file, what was mapped (for the person importing it) and
the problems found on the way. A file with nothing foreign in it is returned unchanged.

One module per concern (callers keep ``from apps.processes.importer import ...``):

- ``vocabulary``: the namespaces and the Camunda names mapped to Flowgate ones;
- ``feel``: FEEL and JUEL conditions, translated to Flowgate expressions (by
  ``engine.core.expressions.from_feel``, the one FEEL translator) or named as unsupported;
- ``elements``: the element-by-element conversion (tasks, forms, messages, mappings, conditions).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from .elements import Importer
from .feel import feel_to_expression
from .vocabulary import FLOWGATE_NS

__all__ = ["ImportResult", "bpmn_import", "feel_to_expression"]


@dataclass
class ImportResult:
    xml: bytes
    mapped: list[dict] = field(default_factory=list)  # {element_id, message}
    problems: list[dict] = field(default_factory=list)  # {element_id, code, message}

    @property
    def changed(self) -> bool:
        return bool(self.mapped)


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
