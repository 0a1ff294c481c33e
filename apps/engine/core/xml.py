"""Hardened XML parsing for uploaded BPMN files.

No DTD is ever loaded, no entity is resolved, nothing is fetched from the network and libxml2's
huge-tree mode stays off. Any DOCTYPE is refused outright (no legitimate BPMN file needs one), which
also rules out billion-laughs and quadratic-blowup payloads before libxml2 sees them. Size and
nesting depth are capped.
"""

from __future__ import annotations

import io
import re

from lxml import etree

from .errors import BpmnValidationError, Problem, UnsafeXmlError

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_DEPTH = 64

_DOCTYPE_RE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_BOMS = {
    b"\xff\xfe": "utf-16-le",
    b"\xfe\xff": "utf-16-be",
}


def _as_utf8(data: bytes) -> bytes:
    """Return the document as UTF-8 bytes so that the DOCTYPE scan cannot be dodged by encoding."""
    for bom, encoding in _BOMS.items():
        if data.startswith(bom):
            try:
                text = data[len(bom) :].decode(encoding)
            except UnicodeDecodeError as exc:
                raise UnsafeXmlError("The file is not valid UTF-16 text.") from exc
            return re.sub(
                r"^<\?xml[^>]*\?>", '<?xml version="1.0" encoding="UTF-8"?>', text
            ).encode("utf-8")
    if data[:4] in (b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00") or b"\x00" in data[:4]:
        raise UnsafeXmlError("Only UTF-8 or UTF-16 encoded BPMN files are accepted.")
    return data


def parse_xml(
    data: bytes | str,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> etree._Element:
    """Parse untrusted XML and return its root element.

    Raises ``UnsafeXmlError`` for anything dangerous and ``BpmnValidationError`` (code
    ``xml_syntax``) when the text is not well-formed XML.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > max_bytes:
        raise UnsafeXmlError(
            f"The file is {len(data):,} bytes; the limit is {max_bytes:,} bytes.",
            code="xml_too_large",
        )
    if not data.strip():
        raise BpmnValidationError([Problem(None, "xml_syntax", "The file is empty.")])
    data = _as_utf8(data)
    if _DOCTYPE_RE.search(data):
        raise UnsafeXmlError(
            "The file contains a DOCTYPE or ENTITY declaration. BPMN files never need one; "
            "remove it and upload again.",
            code="xml_doctype",
        )
    depth = 0
    root: etree._Element | None = None
    try:
        for event, element in etree.iterparse(
            io.BytesIO(data),
            events=("start", "end"),
            resolve_entities=False,
            load_dtd=False,
            dtd_validation=False,
            no_network=True,
            huge_tree=False,
            remove_pis=True,
        ):
            if event == "start":
                depth += 1
                if depth > max_depth:
                    raise UnsafeXmlError(
                        f"Elements are nested more than {max_depth} levels deep; "
                        "this is not a diagram a modeler produces.",
                        code="xml_too_deep",
                    )
                if root is None:
                    root = element
            else:
                depth -= 1
    except etree.XMLSyntaxError as exc:
        line = getattr(exc, "lineno", None)
        where = f" (line {line})" if line else ""
        raise BpmnValidationError(
            [Problem(None, "xml_syntax", f"The file is not well-formed XML{where}: {exc.msg}")]
        ) from exc
    if root is None:  # pragma: no cover - iterparse always yields the root
        raise BpmnValidationError([Problem(None, "xml_syntax", "The file has no root element.")])
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise UnsafeXmlError("The file contains a DOCTYPE declaration.", code="xml_doctype")
    return root
