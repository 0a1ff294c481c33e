"""An in-memory OpenTelemetry exporter for tests: the SDK's TracerProvider is installed once per
test process (OpenTelemetry allows one global provider), and each test gets it emptied."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

_exporter = InMemorySpanExporter()
_installed = False


@pytest.fixture
def spans() -> InMemorySpanExporter:
    global _installed  # noqa: PLW0603 - one provider per process
    if not _installed:
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(_exporter))
        trace.set_tracer_provider(provider)
        _installed = True
    _exporter.clear()
    yield _exporter
    _exporter.clear()
