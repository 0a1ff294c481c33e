"""Tracing profile: what the OpenTelemetry SDK costs per instance start and per engine step, in CPU
and in spans, with the instrumentations `make bench`'s "tracing on" run uses (issue 23; decision
039, addendum 3).

Run with `python -m tests.benchmarks tracing-profile` (PostgreSQL + Redis, as `make bench`). In
one process, on a fresh copy of a migrated database, alternating rounds of: tracing off (no SDK
recording, no instrumentation: what a portal without ``OTEL_*`` runs), then tracing on (the SDK
as ``tracing.configure()`` installs it: batch span processor into Flowgate's in-memory exporter,
the psycopg instrumentation as configured there (``FLOWGATE_OTEL_SQLCOMMENTER``,
``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS`` are honoured), the Celery instrumentation; a server
span per start as the Django instrumentation makes for the start API). Each round starts
PROFILE_TRACING_INSTANCES instances, then runs their jobs through the worker's task
(``engine.answer_doorbell``, applied in this process with the doorbell's headers). Measured: this
process's CPU per start and per step (all threads: the span processor's export thread included;
the least of the rounds, as other load only adds), time in garbage collection, spans per start and
per step, and, under cProfile in one extra round per side, the Python function calls
(deterministic: the machine-independent figure) and where tracing adds self time. Prints a
markdown report; writes nothing.
"""

from __future__ import annotations

import cProfile
import gc
import os
import pstats
import re
import time
from collections import Counter
from contextlib import nullcontext
from pathlib import Path

from django.db import connection
from opentelemetry import trace
from opentelemetry.instrumentation.celery import CeleryInstrumentor
from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from apps.common import tracing as flowgate_tracing
from apps.common.tracing import MemoryExporter
from tests.benchmarks.engine_bench import STEPS_PER_INSTANCE, _FreshDatabases, _version
from tests.benchmarks.tracing_bench import SamplingSwitch

COUNT = int(os.environ.get("PROFILE_TRACING_INSTANCES", "150"))
ROUNDS = int(os.environ.get("PROFILE_TRACING_ROUNDS", "3"))
KEEP = int(os.environ.get("PROFILE_TRACING_KEEP", "10000"))  # MemoryExporter's default


class _Names(MemoryExporter):
    """The in-memory exporter as configured (the latest KEEP spans), counting spans by name."""

    def __init__(self) -> None:
        super().__init__(keep=KEEP)
        self.names: Counter[str] = Counter()

    def export(self, spans):
        self.names.update(span.name for span in spans)
        return super().export(spans)


class _GC:
    """Garbage collections and the time they take (gc.callbacks), during a measured part."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.collections = Counter()
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.process_time()
        else:
            self.seconds += time.process_time() - self._started
            self.collections[info["generation"]] += 1

    def take(self) -> tuple[float, Counter]:
        taken = (self.seconds, self.collections)
        self.seconds, self.collections = 0.0, Counter()
        return taken


class _Side:
    """Tracing on or off for this process: the sampler and the psycopg instrumentation (a new
    connection picks it up, so the connection is closed on each switch)."""

    def __init__(self, switch: SamplingSwitch) -> None:
        self.switch = switch

    def set(self, on: bool) -> None:
        connection.close()
        sql = flowgate_tracing.instrumentation_wanted("psycopg")
        if on and not self.switch.on:
            if sql:
                flowgate_tracing.instrument_psycopg()
            CeleryInstrumentor().instrument()
        elif not on and self.switch.on:
            if sql:
                PsycopgInstrumentor().uninstrument()
            CeleryInstrumentor().uninstrument()
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


def _steps() -> int:
    """Every pending job, through the worker's task (``engine.answer_doorbell``) applied in this
    process with the message headers the doorbell sends, so the Celery instrumentation (when on)
    makes its span around each task as on a worker."""
    from apps.engine.models import Job, JobStatus
    from apps.engine.tasks import answer_doorbell

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
            result = answer_doorbell.apply(
                args=(job_id, instance_id), headers={"traceparent": traceparent}
            )
            executed += result.get()


def _round(version, actor, side: _Side, traced: bool, exporter, profiles=None, gcs=None) -> dict:
    from portal.celery import app

    side.set(traced)
    provider = trace.get_tracer_provider()
    before = exporter.exported
    names_before = Counter(exporter.names)
    gcs.take()
    if profiles:
        profiles[0].enable()
    cpu = time.process_time()
    _starts(version, actor, traced)
    provider.force_flush()  # type: ignore[attr-defined]
    start_cpu = time.process_time() - cpu
    if profiles:
        profiles[0].disable()
        profiles[1].enable()
    start_spans = exporter.exported - before
    start_gc = gcs.take()
    app.control.purge()
    cpu = time.process_time()
    executed = _steps()
    provider.force_flush()  # type: ignore[attr-defined]
    step_cpu = time.process_time() - cpu
    step_gc = gcs.take()
    if profiles:
        profiles[1].disable()
    assert executed == COUNT * STEPS_PER_INSTANCE, executed
    names = exporter.names - names_before
    return {
        "start_cpu_ms": start_cpu / COUNT * 1000,
        "step_cpu_ms": step_cpu / executed * 1000,
        "spans_per_start": start_spans / COUNT,
        "spans_per_step": (exporter.exported - before - start_spans) / executed,
        "names": names,
        "start_gc_ms": start_gc[0] / COUNT * 1000,
        "step_gc_ms": step_gc[0] / executed * 1000,
        "gc_collections": start_gc[1] + step_gc[1],
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

    switch, exporter, gcs = SamplingSwitch(), _Names(), _GC()
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
        _round(version, actor, side, False, exporter, gcs=gcs)  # warm-up
        for _ in range(ROUNDS):
            for traced in (False, True):
                results[traced].append(_round(version, actor, side, traced, exporter, gcs=gcs))
        for traced in (False, True):
            profiles = (cProfile.Profile(), cProfile.Profile())
            _round(version, actor, side, traced, exporter, profiles, gcs)
            profiled[traced] = (profiles, [_calls(p) for p in profiles])
        side.set(False)
    med = {
        traced: {
            # The least CPU of the rounds: other processes on the machine only ever add to it.
            key: min(r[key] for r in rows)
            for key in (
                "start_cpu_ms",
                "step_cpu_ms",
                "spans_per_start",
                "spans_per_step",
                "start_gc_ms",
                "step_gc_ms",
            )
        }
        for traced, rows in results.items()
    }
    off, on = med[False], med[True]
    per_instance_off = off["start_cpu_ms"] + STEPS_PER_INSTANCE * off["step_cpu_ms"]
    per_instance_on = on["start_cpu_ms"] + STEPS_PER_INSTANCE * on["step_cpu_ms"]
    spans = on["spans_per_start"] + STEPS_PER_INSTANCE * on["spans_per_step"]
    extra_us = (per_instance_on - per_instance_off) * 1000
    calls = {traced: [total for total, _otel in profiled[traced][1]] for traced in (False, True)}
    otel_calls = [otel for _total, otel in profiled[True][1]]
    steps = COUNT * STEPS_PER_INSTANCE
    lines = [
        f"{COUNT} instances per round, {ROUNDS} rounds alternating off/on (least of the rounds; CPU of this "
        "process, all threads; the database's CPU is not in it):",
        "",
        "| | CPU ms per start | CPU ms per step | CPU ms per instance (start + 3 steps) | spans per start | spans per step |",
        "|---|---|---|---|---|---|",
        f"| tracing off | {off['start_cpu_ms']:.3f} | {off['step_cpu_ms']:.3f} | {per_instance_off:.3f} | – | – |",
        f"| tracing on | {on['start_cpu_ms']:.3f} | {on['step_cpu_ms']:.3f} | {per_instance_on:.3f} | {on['spans_per_start']:.1f} | {on['spans_per_step']:.2f} |",
        f"| on / off | {on['start_cpu_ms'] / off['start_cpu_ms']:.3f} | {on['step_cpu_ms'] / off['step_cpu_ms']:.3f} | **{per_instance_on / per_instance_off:.3f}** | | |",
        "",
        f"Garbage collection, CPU ms per start / per step: off {off['start_gc_ms']:.3f} / "
        f"{off['step_gc_ms']:.3f}, on {on['start_gc_ms']:.3f} / {on['step_gc_ms']:.3f}; "
        f"collections by generation in the last round: off "
        f"{dict(sorted(results[False][-1]['gc_collections'].items()))}, on "
        f"{dict(sorted(results[True][-1]['gc_collections'].items()))} "
        f"(the exporter keeps the latest {KEEP} spans).",
        "",
        f"Extra CPU per instance {extra_us:.0f} µs for {spans:.1f} spans = "
        f"{extra_us / spans if spans else 0:.0f} µs per span (everything tracing adds, divided by its spans).",
        "",
        "Python function calls (cProfile round; deterministic):",
        "",
        "| | per start: off | on | added | in OpenTelemetry + tracing.py | per step: off | on | added | in OpenTelemetry + tracing.py |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| calls | {calls[False][0] / COUNT:,.0f} | {calls[True][0] / COUNT:,.0f} "
        f"| {(calls[True][0] - calls[False][0]) / COUNT:+,.0f} | {otel_calls[0] / COUNT:,.0f} "
        f"| {calls[False][1] / steps:,.0f} | {calls[True][1] / steps:,.0f} "
        f"| {(calls[True][1] - calls[False][1]) / steps:+,.0f} | {otel_calls[1] / steps:,.0f} |",
        "",
        "Spans by name (last profiled round, tracing on):",
        "",
    ]
    for name, count in profiled_names(results):
        lines.append(f"- `{name}`: {count / COUNT:.2f} per instance")
    lines += [
        "",
        "Heaviest OpenTelemetry functions in the steps (self time, cProfile round, tracing on):",
        "",
        "| function | calls | self s | cumulative s |",
        "|---|---|---|---|",
        *_otel_top(profiled[True][0][1]),
        "",
        "Where tracing adds self time to the starts (cProfile rounds, on minus off):",
        "",
        "| function | calls added | self s added |",
        "|---|---|---|",
        *_diff(profiled[False][0][0], profiled[True][0][0]),
        "",
        "Where tracing adds self time to the steps (cProfile rounds, on minus off):",
        "",
        "| function | calls added | self s added |",
        "|---|---|---|",
        *_diff(profiled[False][0][1], profiled[True][0][1]),
        "",
    ]
    print("\n".join(lines))


def profiled_names(results: dict[bool, list[dict]]) -> list[tuple[str, int]]:
    names = results[True][-1]["names"]
    return sorted(names.items(), key=lambda kv: kv[1], reverse=True)


def pairs(report_dir: Path) -> None:
    """`python -m tests.benchmarks tracing-pairs`: the engine benchmark's "durable, 2 workers" run
    with tracing off, then on, PAIR_ROUNDS times (PAIR_INSTANCES instances each; real workers, as
    `make bench` runs them), and the loss of each pair: a quicker check than a whole `make bench`
    of what tracing costs in real processes. Prints; writes nothing."""
    from tests.benchmarks import engine_bench

    count = int(os.environ.get("PAIR_INSTANCES", "600"))
    rounds = int(os.environ.get("PAIR_ROUNDS", "3"))
    switch, _exporter = engine_bench._starter_tracing()
    rates: dict[bool, list[float]] = {False: [], True: []}
    with _FreshDatabases() as databases:
        databases.fresh()
        for _ in range(rounds):
            for traced in (False, True):
                switch.on = traced
                sql = traced and flowgate_tracing.instrumentation_wanted("psycopg")
                if sql:
                    flowgate_tracing.instrument_psycopg()
                try:
                    result = engine_bench.durable_run(
                        databases, workers=2, count=count, audit=True, tracing=traced
                    )
                finally:
                    switch.on = False
                    if sql:
                        PsycopgInstrumentor().uninstrument()
                assert result["ok"], result["check"]
                rates[traced].append(result["instances_per_s"])
    losses = [1 - on / off for off, on in zip(rates[False], rates[True], strict=True)]
    print(
        f"durable, 2 workers, {count} instances, {rounds} pairs: off "
        f"{[round(r, 1) for r in rates[False]]}, on {[round(r, 1) for r in rates[True]]} "
        f"instances/s; loss per pair {[f'{loss:.1%}' for loss in losses]}, mean "
        f"{sum(losses) / len(losses):.1%}"
    )
