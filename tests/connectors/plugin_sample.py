"""A connector module loaded through settings.FLOWGATE_CONNECTOR_MODULES in the registry tests."""

from apps.connectors.registry import function


@function("sample.double", label="Double", schema={"type": "object", "required": ["n"]})
def double(inputs, context):
    """Twice n."""
    return {"n": inputs["n"] * 2}
