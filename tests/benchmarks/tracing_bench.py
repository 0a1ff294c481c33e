"""Tracing overhead: the same instances run step by step on the lease path (the path whose steps
are spans), in one process, first without the OpenTelemetry SDK (ids still made and propagated),
then with the SDK recording every span into the in-memory exporter. Issue 23's goal: within 5%.

Run with `python -m tests.benchmarks tracing` (PostgreSQL + Redis, like `make bench`).
Writes docs/benchmarks/tracing.md. Order bias: the second run works on a bigger database, so
the measured overhead is an upper bound.
"""

from __future__ import annotations

import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult

from apps.common.actors import Actor
from apps.connectors.registry import FunctionConnector, register
from apps.engine import services
from apps.engine.models import Job, JobStatus
from apps.processes.services import version_deploy

ROOT = Path(__file__).resolve().parents[2]
BPMN = ROOT / "tests" / "engine" / "bpmn" / "bench_auto.bpmn"
INSTANCES = int(os.environ.get("BENCH_TRACING_INSTANCES", "100"))
ROUNDS = int(os.environ.get("BENCH_TRACING_ROUNDS", "3"))
ACTOR = Actor.system("bench")


def _lease_echo(inputs, context):
    return dict(inputs)


def _batch(version, count: int) -> dict:
    started = time.perf_counter()
    instances = [
        services.instance_start(version=version, variables={"n": n}, actor=ACTOR)
        for n in range(count)
    ]
    start_s = time.perf_counter() - started
    steps = 0
    started = time.perf_counter()
    while True:
        due = list(
            Job.objects.filter(instance__in=instances, status=JobStatus.PENDING).values_list(
                "pk", "instance_id"
            )
        )
        if not due:
            break
        for job_id, instance_id in due:
            steps += services.job_run(job_id=job_id, worker_id="bench", instance_id=instance_id)
    run_s = time.perf_counter() - started
    return {"starts_per_s": count / start_s, "steps_per_s": steps / run_s, "steps": steps}


class SamplingSwitch(Sampler):
    """Records every span while ``on``; drops them (non-recording spans) otherwise."""

    on = False

    def should_sample(
        self,
        parent_context,
        trace_id,
        name,
        kind=None,
        attributes=None,
        links=None,
        trace_state=None,
    ):
        decision = Decision.RECORD_AND_SAMPLE if self.on else Decision.DROP
        return SamplingResult(decision, attributes)

    def get_description(self) -> str:
        return "switch"


def run(report_dir: Path) -> None:
    register(FunctionConnector(_lease_echo, name="bench_lease_echo"))
    xml = BPMN.read_bytes().replace(
        b'flowgate:connector="echo"', b'flowgate:connector="bench_lease_echo"'
    )
    version = version_deploy(xml=xml, actor=ACTOR).version
    _batch(version, 30)  # warm-up
    # Without the SDK first (what a portal without OTEL_* runs), then the SDK with a sampler
    # switched off and on in alternating rounds, so database growth and machine noise fall on
    # both sides alike.
    bare = _batch(version, INSTANCES)
    exporter = InMemorySpanExporter()
    switch = SamplingSwitch()
    provider = TracerProvider(sampler=switch)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    rounds: dict[bool, list[dict]] = {False: [], True: []}
    for _round in range(ROUNDS):
        for on in (False, True):
            switch.on = on
            rounds[on].append(_batch(version, INSTANCES))
    spans = len(exporter.get_finished_spans())

    def mean(on: bool, key: str) -> float:
        return sum(r[key] for r in rounds[on]) / len(rounds[on])

    off = {k: mean(False, k) for k in ("starts_per_s", "steps_per_s")}
    on = {k: mean(True, k) for k in ("starts_per_s", "steps_per_s")}
    overhead = {k: 1 - on[k] / off[k] for k in off}
    lines = [
        "# Tracing overhead",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
        f"{os.cpu_count()} CPUs (shared), Python {platform.python_version()}; "
        f"`python -m tests.benchmarks tracing`: {INSTANCES} instances of `bench_auto.bpmn` per run, "
        "their 3 steps each on the lease path through a plain function connector, in one process "
        f"on PostgreSQL; {ROUNDS} rounds alternating SDK sampling off and on.",
        "",
        "| run | instance starts/s | steps/s |",
        "|---|---|---|",
        f"| no SDK (ids made and propagated), once before the rounds | {bare['starts_per_s']:.1f} | {bare['steps_per_s']:.1f} |",
        f"| SDK, sampling off (mean of {ROUNDS}) | {off['starts_per_s']:.1f} | {off['steps_per_s']:.1f} |",
        f"| SDK, every span recorded into the in-memory exporter (mean of {ROUNDS}; {spans} spans) | {on['starts_per_s']:.1f} | {on['steps_per_s']:.1f} |",
        f"| overhead of recording | {overhead['starts_per_s']:.1%} | {overhead['steps_per_s']:.1%} |",
        "",
        "Goal (issue 23): within 5%. Not included: the Django/psycopg/Celery instrumentations "
        "(installed by `tracing.configure()` only in served processes) and a network exporter "
        "(OTLP batches in a background thread).",
        "",
    ]
    (report_dir / "tracing.md").write_text("\n".join(lines))
    print("\n".join(lines))
