"""Trace context without a tracing backend: parsing and making W3C traceparents, the middleware
that honours an incoming one, the link template, the OTEL_* switch and log records."""

from __future__ import annotations

import logging

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from apps.common import tracing
from apps.common.logging import ContextFilter

CALLER = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_a_valid_traceparent_is_read_and_a_malformed_one_is_ignored():
    context = tracing.parse_traceparent(CALLER)
    assert (f"{context.trace_id:032x}", f"{context.span_id:016x}") == (
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "00f067aa0ba902b7",
    )
    assert tracing.format_traceparent(context) == CALLER
    for bad in ["", "garbage", "00-" + "0" * 32 + "-00f067aa0ba902b7-01", CALLER[:-3]]:
        assert tracing.parse_traceparent(bad) is None
    assert tracing.trace_id_of("garbage") == ""


def test_an_instance_joins_the_incoming_trace_else_starts_a_new_one():
    with tracing.incoming({"traceparent": CALLER}):
        assert tracing.instance_traceparent() == CALLER
    fresh = tracing.instance_traceparent()
    assert tracing.trace_id_of(fresh) not in ("", "4bf92f3577b34da6a3ce929d0e0e4736")
    assert tracing.trace_id_of(tracing.instance_traceparent()) != tracing.trace_id_of(fresh)


def test_a_step_without_the_sdk_still_propagates_the_instance_trace():
    # no SDK provider: the step is a non-recording span with a new span id in the same trace
    with tracing.step_span("step", CALLER):
        headers: dict[str, str] = {}
        tracing.inject(headers)
    version, trace_id, span_id, flags = headers["traceparent"].split("-")
    assert (version, trace_id, flags) == ("00", "4bf92f3577b34da6a3ce929d0e0e4736", "01")
    assert span_id not in ("00f067aa0ba902b7", "0" * 16)


def test_a_job_created_by_a_step_of_the_same_trace_is_its_child():
    with tracing.step_span("step", CALLER):
        current = trace.get_current_span().get_span_context()
        assert tracing.job_traceparent(CALLER) == tracing.format_traceparent(current)
    # a person's request of another trace: the job stays on the instance's trace
    other = "00-11111111111111111111111111111111-2222222222222222-01"
    with tracing.incoming({"traceparent": other}):
        assert tracing.job_traceparent(CALLER) == CALLER


def test_the_sdk_is_off_unless_the_otel_variables_ask_for_it():
    assert tracing.sdk_wanted({}) is False
    assert tracing.sdk_wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}) is True
    assert tracing.sdk_wanted({"OTEL_TRACES_EXPORTER": "none"}) is False
    assert tracing.sdk_wanted({"OTEL_TRACES_EXPORTER": "console"}) is True
    assert tracing.sdk_wanted({"OTEL_TRACES_EXPORTER": "memory"}) is True
    assert (
        tracing.sdk_wanted(
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}
        )
        is False
    )


def test_the_standard_variable_leaves_out_the_instrumentations_it_names():
    assert tracing.instrumentation_wanted("psycopg", {}) is True
    disabled = {"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "requests , psycopg"}
    assert tracing.instrumentation_wanted("psycopg", disabled) is False
    assert tracing.instrumentation_wanted("django", disabled) is True
    everything = {"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "*"}
    assert tracing.instrumentation_wanted("celery", everything) is False


def test_the_memory_exporter_keeps_the_latest_spans_and_counts_them_all():
    exporter = tracing.MemoryExporter(keep=2)
    provider = TracerProvider()  # not the global one: this test installs nothing
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    for name in ("a", "b", "c"):
        provider.get_tracer("test").start_span(name).end()
    assert exporter.exported == 3
    assert [span.name for span in exporter.spans] == ["b", "c"]


def test_the_trace_link_follows_the_template(settings):
    settings.FLOWGATE_TRACE_URL_TEMPLATE = ""
    assert tracing.trace_url("abc") == ""
    settings.FLOWGATE_TRACE_URL_TEMPLATE = "https://jaeger.example.com/trace/{trace_id}"
    assert tracing.trace_url("abc") == "https://jaeger.example.com/trace/abc"
    assert tracing.trace_url("") == ""


def test_log_records_carry_the_trace_and_span_id():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
    with tracing.step_span("step", CALLER):
        span_id = f"{trace.get_current_span().get_span_context().span_id:016x}"
        ContextFilter().filter(record)
    assert (record.trace_id, record.span_id) == ("4bf92f3577b34da6a3ce929d0e0e4736", span_id)
    outside = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
    ContextFilter().filter(outside)
    assert (outside.trace_id, outside.span_id) == (None, None)
