"""Trace context for instances and their steps (OpenTelemetry; decision 029, docs/observability.md).

Every instance belongs to a trace whether or not a tracing backend is configured: the caller's
W3C ``traceparent`` (on the start API, a webhook or a message) is honoured, else a new trace id is
made. The instance keeps its ``traceparent``; each job row gets one when it is created (the
instance's trace, the parent being the step that created it when that step is of the same trace);
a worker step runs as a span of that trace (real when the SDK is configured, otherwise a
non-recording span that still propagates), so the HTTP connector's ``traceparent`` header carries
the instance's trace id. No span is held open across a wait: the context lives on the rows.

The SDK is off unless configured by the standard variables: ``OTEL_TRACES_EXPORTER`` (``otlp``,
``console``, or Flowgate's ``memory``: spans kept in the process, nothing sent, for benchmarks) or ``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``;
``OTEL_SDK_DISABLED=true`` wins. ``OTEL_SERVICE_NAME`` and the other ``OTEL_*`` variables are read
by the SDK itself.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind, TraceFlags
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

logger = logging.getLogger(__name__)

PROPAGATOR = TraceContextTextMapPropagator()
TRACER_NAME = "flowgate"
_ids = RandomIdGenerator()
_configured = False


# --- configuration -------------------------------------------------------------------------------


class MemoryExporter(SpanExporter):
    """``OTEL_TRACES_EXPORTER=memory``: the SDK records and exports every span, into this
    process's memory (the latest ``keep``), and sends nothing: the cost of tracing without a
    backend's, for the engine benchmark's "tracing on" run (tests use the SDK's own in-memory
    exporter). Bounded, unlike the SDK's, so a long run does not grow without end."""

    def __init__(self, keep: int = 10_000) -> None:
        self.spans: deque[ReadableSpan] = deque(maxlen=keep)
        self.exported = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.spans.extend(spans)
        self.exported += len(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self.spans.clear()


def sdk_wanted(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the standard OTEL_* variables ask for traces to be exported."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter:
        return exporter != "none"
    return bool(
        environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def configure(*, worker: bool = False) -> bool:
    """Install the SDK, its exporter and the Django/psycopg (and, on a worker, Celery)
    instrumentations when the environment asks for it. Idempotent; True if tracing is on."""
    global _configured  # noqa: PLW0603 - once per process
    if _configured or not sdk_wanted():
        return _configured
    # Imported here, not at the top: these pull in the exporters and instrumentations only in
    # processes that export traces (the import cost is the point, not a cycle).
    from opentelemetry.sdk.resources import Resource  # noqa: PLC0415
    from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
    from opentelemetry.sdk.trace.export import (  # noqa: PLC0415
        BatchSpanProcessor,
        ConsoleSpanExporter,
    )

    provider = TracerProvider(
        resource=Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", "flowgate")})
    )
    kind = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if kind == "console":
        exporter: Any = ConsoleSpanExporter()
    elif kind == "memory":
        exporter = MemoryExporter()
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
            OTLPSpanExporter,
        )

        exporter = OTLPSpanExporter()
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    _instrument(worker=worker)
    _configured = True
    logger.info("OpenTelemetry tracing is on (%s)", type(exporter).__name__)
    return True


def instrumentation_wanted(name: str, environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the instrumentation ``name`` (``django``, ``psycopg``, ``celery``) is to be installed:
    unless the standard ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS`` (comma-separated names, ``*`` for
    all; as the auto-instrumentation reads it) names it. Dropping ``psycopg`` removes the span per
    SQL statement, about two thirds of the spans an instance makes (decision 039, addendum 3)."""
    disabled = {
        part.strip().lower()
        for part in environ.get("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", "").split(",")
    }
    return "*" not in disabled and name not in disabled


def _instrument(*, worker: bool) -> None:
    if instrumentation_wanted("django"):
        from opentelemetry.instrumentation.django import DjangoInstrumentor  # noqa: PLC0415

        DjangoInstrumentor().instrument()
    if instrumentation_wanted("psycopg"):
        instrument_psycopg()
    if worker and instrumentation_wanted("celery"):
        from opentelemetry.instrumentation.celery import CeleryInstrumentor  # noqa: PLC0415

        CeleryInstrumentor().instrument()


def sqlcommenter_wanted(environ: Mapping[str, str] = os.environ) -> bool:
    """``FLOWGATE_OTEL_SQLCOMMENTER=true``: each SQL statement carries its span's traceparent in
    a comment (pg_stat_activity and the slow-query log point back to the trace). Off by default:
    a comment unique to each statement makes every statement's text new to psycopg, which then
    parses it again instead of taking it from its query cache (decision 039, addendum 3)."""
    return environ.get("FLOWGATE_OTEL_SQLCOMMENTER", "").strip().lower() in ("1", "true", "yes")


def instrument_psycopg() -> None:
    """The psycopg instrumentation as configured processes use it (connections made after):
    a span per SQL statement."""
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor  # noqa: PLC0415

    PsycopgInstrumentor().instrument(enable_commenter=sqlcommenter_wanted())


# One tracer for the process: a proxy until the SDK's provider is installed (OpenTelemetry allows
# one), then that provider's. trace.get_tracer() made a new Tracer per call (about 8 us each, a
# call per step and per traced start).
_TRACER = trace.get_tracer(TRACER_NAME)


def tracer() -> trace.Tracer:
    return _TRACER


# --- trace context on rows -----------------------------------------------------------------------


def parse_traceparent(value: str | None) -> SpanContext | None:
    """The span context of a W3C ``traceparent`` value, or None if absent or malformed."""
    if not value:
        return None
    span = trace.get_current_span(PROPAGATOR.extract({"traceparent": value.strip()}))
    context = span.get_span_context()
    return context if context.is_valid else None


def format_traceparent(span_context: SpanContext) -> str:
    return (
        f"00-{span_context.trace_id:032x}-{span_context.span_id:016x}-"
        f"{int(span_context.trace_flags):02x}"
    )


def trace_id_of(traceparent: str) -> str:
    """The 32-hex trace id of a stored traceparent ("" if none)."""
    context = parse_traceparent(traceparent)
    return f"{context.trace_id:032x}" if context else ""


def current_span_context() -> SpanContext | None:
    context = trace.get_current_span().get_span_context()
    return context if context.is_valid else None


def instance_traceparent() -> str:
    """The traceparent a new instance keeps: the current span (the caller's trace, taken from its
    ``traceparent`` by the middleware or the Django instrumentation), else a new trace."""
    current = current_span_context()
    if current is not None:
        return format_traceparent(current)
    return format_traceparent(
        SpanContext(
            trace_id=_ids.generate_trace_id(),
            span_id=_ids.generate_span_id(),
            is_remote=False,
            trace_flags=TraceFlags(TraceFlags.SAMPLED),
        )
    )


def job_traceparent(instance_traceparent: str) -> str:
    """The parent of a new job's span: the current span when it belongs to the instance's trace
    (the worker step that led to this job), else the instance's own traceparent (a person's
    request, a timer or a message continues the instance's trace, not the request's)."""
    current = current_span_context()
    if current is not None and instance_traceparent:
        stored = parse_traceparent(instance_traceparent)
        if stored is not None and stored.trace_id == current.trace_id:
            return format_traceparent(current)
    return instance_traceparent


@contextmanager
def incoming(headers: Mapping[str, str]) -> Iterator[None]:
    """Make a request's ``traceparent`` the current context, unless a span is already current
    (the Django instrumentation extracted it). Used by the middleware."""
    if current_span_context() is not None or not headers.get("traceparent"):
        yield
        return
    token = otel_context.attach(PROPAGATOR.extract(dict(headers)))
    try:
        yield
    finally:
        otel_context.detach(token)


@contextmanager
def step_span(
    name: str, traceparent: str, *, attributes: dict[str, Any] | None = None
) -> Iterator[trace.Span]:
    """One engine step as a span, child of ``traceparent`` (a job row's). Without the SDK a
    non-recording span with a fresh span id is current instead, so outgoing calls still carry
    the instance's trace id. A step of another trace (a person's request) gets a link to it."""
    parent = parse_traceparent(traceparent)
    caller = current_span_context()
    links = (
        [Link(caller)]
        if caller is not None and parent is not None and caller.trace_id != parent.trace_id
        else []
    )
    parent_context = trace.set_span_in_context(NonRecordingSpan(parent)) if parent else None
    span = tracer().start_span(
        name,
        context=parent_context,
        kind=SpanKind.INTERNAL,
        attributes=attributes or {},
        links=links,
    )
    if not span.is_recording() and parent is not None:
        # No SDK (the no-op tracer hands back the parent itself) or not sampled: a span id of
        # our own, so that the called service sees this step, not the caller, as its parent.
        span = NonRecordingSpan(
            SpanContext(
                trace_id=parent.trace_id,
                span_id=_ids.generate_span_id(),
                is_remote=False,
                trace_flags=parent.trace_flags,
            )
        )
    with trace.use_span(
        span, end_on_exit=True, record_exception=True, set_status_on_exception=True
    ):
        yield span


def inject(headers: MutableMapping[str, str]) -> None:
    """Add ``traceparent`` (and ``tracestate``) of the current span to outgoing headers."""
    if current_span_context() is not None:
        PROPAGATOR.inject(headers)


def log_ids() -> tuple[str | None, str | None]:
    """(trace_id, span_id) of the current span, for log records."""
    context = current_span_context()
    if context is None:
        return None, None
    return f"{context.trace_id:032x}", f"{context.span_id:016x}"


def trace_url(trace_id: str) -> str:
    """The link to a trace in the tracing backend (FLOWGATE_TRACE_URL_TEMPLATE, with
    ``{trace_id}`` replaced), or "" when no template is set or there is no trace id."""
    template = settings.FLOWGATE_TRACE_URL_TEMPLATE
    if not template or not trace_id:
        return ""
    return template.replace("{trace_id}", trace_id)


def link_current_to(traceparent: str) -> None:
    """Link the current (recording) span to an instance's trace: a person's request, a timer or a
    message that continues an instance after a wait stays in its own trace and points to the
    instance's (the OpenTelemetry messaging conventions' way across long gaps)."""
    target = parse_traceparent(traceparent)
    span = trace.get_current_span()
    if target is None or not span.is_recording():
        return
    if span.get_span_context().trace_id != target.trace_id:
        span.add_link(target, {"flowgate.link": "instance"})
