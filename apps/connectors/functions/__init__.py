"""Connectors that are plain Python functions (registered with ``registry.function``)."""
