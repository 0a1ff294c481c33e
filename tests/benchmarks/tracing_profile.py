"""Tracing profile: what the OpenTelemetry SDK costs per instance start and per engine step, in CPU
and in spans, with the instrumentations `make bench`'s "tracing on" run uses (issue 23).

Run with `python -m tests.benchmarks tracing-profile` (PostgreSQL + Redis, as `make bench`). In
one process, on a fresh copy of a migrated database, alternating rounds of: tracing off (no SDK
recording, no instrumentation: what a portal without ``OTEL_*`` runs), then tracing on (the SDK
as ``tracing.configure()`` installs it: batch span processor into Flowgate's in-memory exporter,
the psycopg instrumentation as configured there; a server span per start as the Django
instrumentation makes for the start API, a consumer span per step as the Celery instrumentation
makes for the worker's task). Each round starts PROFILE_TRACING_INSTANCES instances, then runs
their jobs with ``job_run`` as a worker does. Measured: this process's CPU per start and per
step (all threads: the span processor's export thread included), spans per start and per step,
and, under cProfile in one extra round per side, the Python function calls (deterministic) and
the heaviest OpenTelemetry functions. Prints a markdown report; writes nothing.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import re
import statistics
import time
from collections import Counter
from contextlib import nullcontext
from pathlib import Path

from django.db import connection
from opentelemetry import trace
from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from apps.common import tracing as flowgate_tracing
from apps.common.tracing import MemoryExporter
from tests.benchmarks.engine_bench import STEPS_PER_INSTANCE, _FreshDatabases, _version
from tests.benchmarks.tracing_bench import SamplingSwitch

COUNT = int(os.environ.get("PROFILE_TRACING_INSTANCES", "150"))
ROUNDS = int(os.environ.get("PROFILE_TRACING_ROUNDS", "3"))


class _Side:
    """Tracing on or off for this process: the sampler and the psycopg instrumentation (a new
    connection picks it up, so the connection is closed on each switch)."""

    def __init__(self, switch: SamplingSwitch) -> None:
        self.switch = switch

    def set(self, on: bool) -> None:
        connection.close()
        if on and not self.switch.on:
            flowgate_tracing.instrument_psycopg()
        elif not on and self.switch.on:
            PsycopgInstrumentor().uninstrument()
        self.switch.on = on


def _starts(version, actor, traced: bool) -> list:
    from apps.engine import services

    instances = []
    for n in range(COUNT):
        request = (
            flowgate_tracing.tracer().start_as_current_span(
                "POST /api/v1/instances/", kind=trace.SpanKind.SERVER
            )
            if traced
            else nullcontext()
        )
        with request:
            instances.append(
                services.instance_start(version=version, variables={"n": n}, actor=actor)
            )
    return instances


def _steps(traced: bool) -> int:
    from apps.engine.models import Job, JobStatus
    from apps.engine.runtime.continuation import job_run

    executed = 0
    while True:
        due = list(
            Job.objects.filter(status=JobStatus.PENDING).values_list(
                "pk", "instance_id", "traceparent"
            )[:200]
        )
        if not due:
            return executed
        for job_id, instance_id, traceparent in due:
            task = (
                # The Celery instrumentation's span around the worker's task, child of the
                # traceparent the doorbell put in the message.
                flowgate_tracing.tracer().start_as_current_span(
                    "run/engine.job_run",
                    context=trace.set_span_in_context(
                        trace.NonRecordingSpan(flowgate_tracing.parse_traceparent(traceparent))
                    ),
                    kind=trace.SpanKind.CONSUMER,
                )
                if traced
                else nullcontext()
            )
            with task:
                executed += job_run(job_id=job_id, worker_id="profile", instance_id=instance_id)


def _round(version, actor, side: _Side, traced: bool, exporter, profile=None) -> dict:
    from portal.celery import app

    side.set(traced)
    provider = trace.get_tracer_provider()
    before = exporter.exported
    names_before = Counter(s.name for s in exporter.spans)
    if profile:
        profile.enable()
    cpu = time.process_time()
    _starts(version, actor, traced)
    provider.force_flush()  # type: ignore[attr-defined]
    start_cpu = time.process_time() - cpu
    start_spans = exporter.exported - before
    app.control.purge()
    cpu = time.process_time()
    executed = _steps(traced)
    provider.force_flush()  # type: ignore[attr-defined]
    step_cpu = time.process_time() - cpu
    if profile:
        profile.disable()
    assert executed == COUNT * STEPS_PER_INSTANCE, executed
    names = Counter(s.name for s in exporter.spans) - names_before
    return {
        "start_cpu_ms": start_cpu / COUNT * 1000,
        "step_cpu_ms": step_cpu / executed * 1000,
        "spans_per_start": start_spans / COUNT,
        "spans_per_step": (exporter.exported - before - start_spans) / executed,
        "names": names,
    }


def _otel_top(profile: cProfile.Profile, limit: int = 15) -> list[str]:
    stats = pstats.Stats(profile)
    rows = []
    for (filename, line, name), (_cc, calls, tottime, cumtime, _c) in stats.stats.items():
        if "opentelemetry" in filename or "apps/common/tracing" in filename:
            short = re.sub(r".*site-packages/", "", filename)
            rows.append(
                (tottime, f"| `{short}:{line} {name}` | {calls} | {tottime:.3f} | {cumtime:.3f} |")
            )
    return [row for _t, row in sorted(rows, reverse=True)[:limit]]


def _diff(off: cProfile.Profile, on: cProfile.Profile, limit: int = 20) -> list[str]:
    """The functions tracing adds the most self time to (on minus off)."""

    def by_name(profile):
        return {
            (re.sub(r".*site-packages/", "", f), line, name): (calls, tottime)
            for (f, line, name), (_cc, calls, tottime, _ct, _c) in pstats.Stats(
                profile
            ).stats.items()
        }

    a, b = by_name(off), by_name(on)
    rows = []
    for key, (calls, tottime) in b.items():
        calls0, tottime0 = a.get(key, (0, 0.0))
        rows.append(
            (
                tottime - tottime0,
                f"| `{key[0]}:{key[1]} {key[2]}` | {calls - calls0:+d} | {tottime - tottime0:+.3f} |",
            )
        )
    return [row for _t, row in sorted(rows, reverse=True)[:limit]]


def _calls(profile: cProfile.Profile) -> tuple[int, int]:
    total = otel = 0
    for (filename, _l, _n), (_cc, calls, _tt, _ct, _c) in pstats.Stats(profile).stats.items():
        total += calls
        if "opentelemetry" in filename or "apps/common/tracing" in filename:
            otel += calls
    return total, otel


def run(report_dir: Path) -> None:
    from apps.common.actors import Actor

    switch, exporter = SamplingSwitch(), MemoryExporter(keep=200_000)
    provider = TracerProvider(sampler=switch)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    side = _Side(switch)
    actor = Actor.system("profile")
    results: dict[bool, list[dict]] = {False: [], True: []}
    profiled: dict[bool, tuple] = {}
    with _FreshDatabases() as databases:
        databases.fresh()
        version = _version()
        _round(version, actor, side, False, exporter)  # warm-up
        for _ in range(ROUNDS):
            for traced in (False, True):
                results[traced].append(_round(version, actor, side, traced, exporter))
        for traced in (False, True):
            profile = cProfile.Profile()
            _round(version, actor, side, traced, exporter, profile)
            profiled[traced] = (profile, _calls(profile))
        side.set(False)
    med = {
        traced: {
            key: statistics.median(r[key] for r in rows)
            for key in ("start_cpu_ms", "step_cpu_ms", "spans_per_start", "spans_per_step")
        }
        for traced, rows in results.items()
    }
    off, on = med[False], med[True]
    per_instance_off = off["start_cpu_ms"] + STEPS_PER_INSTANCE * off["step_cpu_ms"]
    per_instance_on = on["start_cpu_ms"] + STEPS_PER_INSTANCE * on["step_cpu_ms"]
    spans = on["spans_per_start"] + STEPS_PER_INSTANCE * on["spans_per_step"]
    extra_us = (per_instance_on - per_instance_off) * 1000
    (calls_off, _), (calls_on, otel_calls) = profiled[False][1], profiled[True][1]
    steps = COUNT * STEPS_PER_INSTANCE
    lines = [
        f"{COUNT} instances per round, {ROUNDS} rounds alternating off/on (medians; CPU of this "
        "process, all threads; the database's CPU is not in it):",
        "",
        "| | CPU ms per start | CPU ms per step | CPU ms per instance (start + 3 steps) | spans per start | spans per step |",
        "|---|---|---|---|---|---|",
        f"| tracing off | {off['start_cpu_ms']:.3f} | {off['step_cpu_ms']:.3f} | {per_instance_off:.3f} | – | – |",
        f"| tracing on | {on['start_cpu_ms']:.3f} | {on['step_cpu_ms']:.3f} | {per_instance_on:.3f} | {on['spans_per_start']:.1f} | {on['spans_per_step']:.2f} |",
        f"| on / off | {on['start_cpu_ms'] / off['start_cpu_ms']:.3f} | {on['step_cpu_ms'] / off['step_cpu_ms']:.3f} | **{per_instance_on / per_instance_off:.3f}** | | |",
        "",
        f"Extra CPU per instance {extra_us:.0f} µs for {spans:.1f} spans = "
        f"{extra_us / spans if spans else 0:.0f} µs per span (everything tracing adds, divided by its spans).",
        "",
        f"Python function calls per instance (cProfile round): off {calls_off / COUNT:,.0f}, "
        f"on {calls_on / COUNT:,.0f} (+{(calls_on - calls_off) / COUNT:,.0f}; "
        f"{otel_calls / COUNT:,.0f} in OpenTelemetry and apps/common/tracing.py); "
        f"{steps} steps per round.",
        "",
        "Spans by name (last profiled round, tracing on):",
        "",
    ]
    for name, count in profiled_names(results):
        lines.append(f"- `{name}`: {count / COUNT:.2f} per instance")
    lines += [
        "",
        "Heaviest OpenTelemetry functions (self time, cProfile round with tracing on):",
        "",
        "| function | calls | self s | cumulative s |",
        "|---|---|---|---|",
        *_otel_top(profiled[True][0]),
        "",
        "Where tracing adds self time (cProfile rounds, on minus off):",
        "",
        "| function | calls added | self s added |",
        "|---|---|---|",
        *_diff(profiled[False][0], profiled[True][0]),
        "",
    ]
    print("\n".join(lines))


def profiled_names(results: dict[bool, list[dict]]) -> list[tuple[str, int]]:
    names = results[True][-1]["names"]
    return sorted(names.items(), key=lambda kv: kv[1], reverse=True)
