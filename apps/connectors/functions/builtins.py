"""Built-in function connectors. Test helpers (flaky, fail-until) live in tests, not here."""

from __future__ import annotations

from typing import Any

from apps.connectors.base import ConnectorError, ExecutionContext
from apps.connectors.registry import function


@function(
    "echo",
    label="Echo",
    chainable=True,
    schema={
        "type": "object",
        "description": "Any inputs; they come back unchanged as outputs.",
        "additionalProperties": True,
    },
)
def echo(inputs: dict[str, Any], context: ExecutionContext) -> dict[str, Any]:
    """Return the inputs unchanged: for wiring mappings and test runs."""
    return dict(inputs)


@function(
    "set_variables",
    label="Set variables",
    chainable=True,
    schema={
        "type": "object",
        "properties": {
            "variables": {
                "type": "object",
                "description": "Name -> value; each becomes an output of the step.",
                "additionalProperties": True,
            }
        },
        "additionalProperties": False,
    },
)
def set_variables(inputs: dict[str, Any], context: ExecutionContext) -> dict[str, Any]:
    """Return ``inputs["variables"]`` as outputs, so a step can set several variables at once."""
    variables = inputs.get("variables", {})
    if not isinstance(variables, dict):
        raise ConnectorError(
            f"set_variables needs 'variables' to be an object (name -> value), got "
            f"{type(variables).__name__}.",
            permanent=True,
        )
    return dict(variables)
