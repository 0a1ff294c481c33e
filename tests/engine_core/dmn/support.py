"""Build small DMN files for tests: one decision table from rows of cell texts."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

FILES = Path(__file__).parent / "files"
DMN13 = "https://www.omg.org/spec/DMN/20191111/MODEL/"
DMN11 = "http://www.omg.org/spec/DMN/20151101/dmn.xsd"


def dmn_file(name: str) -> bytes:
    return (FILES / name).read_bytes()


def table_dmn(
    *,
    inputs: list[tuple[str, str | None]],
    outputs: list[str | tuple[str, str]],
    rules: list[tuple[list[str], list[str]]],
    hit_policy: str = "UNIQUE",
    aggregation: str | None = None,
    input_values: dict[int, str] | None = None,
    namespace: str = DMN13,
    decision_id: str = "d",
) -> bytes:
    """``inputs``: (expression, typeRef); ``outputs``: name or (name, allowed values);
    ``rules``: (input cells, output cells)."""
    aggregation_attr = f' aggregation="{aggregation}"' if aggregation else ""
    parts = [
        f'<definitions xmlns="{namespace}" id="defs" name="Test" namespace="test">',
        f'<decision id="{decision_id}" name="Test decision">',
        f'<decisionTable id="t" hitPolicy="{hit_policy}"{aggregation_attr}>',
    ]
    for position, (expression, type_ref) in enumerate(inputs, start=1):
        type_attr = f' typeRef="{type_ref}"' if type_ref else ""
        allowed = (input_values or {}).get(position)
        values = f"<inputValues><text>{escape(allowed)}</text></inputValues>" if allowed else ""
        parts.append(
            f'<input id="in{position}" label="In {position}"><inputExpression{type_attr}>'
            f"<text>{escape(expression)}</text></inputExpression>{values}</input>"
        )
    for position, output in enumerate(outputs, start=1):
        name, allowed = output if isinstance(output, tuple) else (output, None)
        values = f"<outputValues><text>{escape(allowed)}</text></outputValues>" if allowed else ""
        parts.append(f'<output id="out{position}" name="{name}">{values}</output>')
    for number, (ins, outs) in enumerate(rules, start=1):
        parts.append(f'<rule id="r{number}">')
        parts += [f"<inputEntry><text>{escape(c)}</text></inputEntry>" for c in ins]
        parts += [f"<outputEntry><text>{escape(c)}</text></outputEntry>" for c in outs]
        parts.append("</rule>")
    parts.append("</decisionTable></decision></definitions>")
    return "".join(parts).encode()
