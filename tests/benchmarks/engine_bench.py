"""Engine benchmark: durable engine (PostgreSQL + Redis + real Celery workers) against bare
in-process SpiffWorkflow on the same 5-step automatic process, plus PostgreSQL's commit rate.

Run with `make bench` (or `python -m tests.benchmarks engine`). Writes docs/benchmarks/engine.md.

Every durable run gets a fresh database, ``<name>_engine_bench_run``, copied from a migrated
template ``<name>_engine_bench`` (PostgreSQL's ``CREATE DATABASE … TEMPLATE``, about a second): runs
used to share one database that grew by 6,000 jobs per run and slowed the later configurations
and every later ``make bench``. Both are dropped at the end.

Tracing (issue 23: "with tracing on (in-memory exporter), engine throughput stays within 5% of
tracing off, in the same make bench run"): the configuration "durable, 2 workers, tracing on"
starts its workers with ``OTEL_TRACES_EXPORTER=memory`` (apps/common/tracing.py: the SDK, a batch
span processor into process memory, and the Django, psycopg and Celery instrumentations, as a
traced deployment runs them, minus the network), the other workers with no ``OTEL_*`` variable.
The benchmark process, which makes the instance starts (the API's work), gets the SDK with a
sampling switch (tracing_bench.SamplingSwitch) into an in-memory exporter before the first run. For
the tracing run only, it switches sampling on, instruments psycopg (instrumented connections are
the ones opened after, and each run opens its own) and makes each start a server span, as the
Django instrumentation makes the start API's request; otherwise it makes no span of its own. The
SDK stays installed, sampling off, for the benchmarks that follow in the same process.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.db import connection
from opentelemetry import trace
from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from apps.common import tracing as flowgate_tracing
from apps.common.stack import worker_command
from apps.common.tracing import MemoryExporter
from tests.benchmarks.tracing_bench import SamplingSwitch

ROOT = Path(__file__).resolve().parents[2]
BPMN = ROOT / "tests" / "engine" / "bpmn" / "bench_auto.bpmn"
INSTANCES = int(os.environ.get("BENCH_INSTANCES", "2000"))
BARE_INSTANCES = int(os.environ.get("BENCH_BARE_INSTANCES", "2000"))
STEPS_PER_INSTANCE = 3  # service tasks: prepare, left, right (gateways run inside those advances)


def _version():
    from apps.common.actors import Actor
    from apps.processes.services import version_deploy

    return version_deploy(xml=BPMN.read_bytes(), actor=Actor.system("bench")).version


def bare_spiff_rate(spec_json: str, count: int) -> dict:
    """The same process on the engine core alone: no database, no broker, no serialization."""
    from apps.engine.core import ProcessRunner

    runner = ProcessRunner(spec_json)
    started = time.perf_counter()
    for n in range(count):
        instance = runner.start({"n": n})
        while True:
            effects = instance.effects()
            if effects.status != "running":
                break
            for job in effects.service_tasks:
                instance.complete_service_task(job.task_id, dict(job.inputs))
        assert effects.status == "completed", effects.status
    elapsed = time.perf_counter() - started
    # The same, with a dump/load round trip between steps (the serialization cost alone).
    started = time.perf_counter()
    for n in range(count // 4):
        instance = runner.start({"n": n})
        while True:
            instance = runner.load(instance.dump())
            effects = instance.effects()
            if effects.status != "running":
                break
            for job in effects.service_tasks:
                instance.complete_service_task(job.task_id, dict(job.inputs))
    serialized = time.perf_counter() - started
    return {"instances_per_s": count / elapsed, "with_dump_load_per_s": (count // 4) / serialized}


def pg_commit_rate(count: int = 3000) -> float:
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_commit (id bigserial primary key, v int)")
    raw = connection.connection
    autocommit = raw.autocommit
    raw.autocommit = True
    try:
        cursor = raw.cursor()
        started = time.perf_counter()
        for i in range(count):
            cursor.execute("INSERT INTO bench_commit (v) VALUES (%s)", (i,))
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_commit")
    finally:
        raw.autocommit = autocommit
    return count / elapsed


class _FreshDatabases:
    """A migrated template next to the configured database, and a fresh copy of it per run."""

    def __init__(self) -> None:
        self.original = connection.settings_dict["NAME"]
        self.template = f"{self.original}_engine_bench"
        self.run_name = f"{self.template}_run"

    def _admin(self, statement: str) -> None:
        with connection._nodb_cursor() as cursor:
            cursor.execute(statement)

    def _use(self, name: str) -> None:
        connection.close()
        connection.settings_dict["NAME"] = name

    def __enter__(self) -> _FreshDatabases:
        from django.core.management import call_command

        self._use(self.original)
        for name in (self.run_name, self.template):
            self._admin(f'DROP DATABASE IF EXISTS "{name}"')
        self._admin(f'CREATE DATABASE "{self.template}"')
        self._use(self.template)
        call_command("migrate", verbosity=0)
        self._use(self.original)
        return self

    def fresh(self) -> str:
        """Point this process at a new copy of the template; its URL is for the workers."""
        self._use(self.original)
        self._admin(f'DROP DATABASE IF EXISTS "{self.run_name}"')
        self._admin(f'CREATE DATABASE "{self.run_name}" TEMPLATE "{self.template}"')
        self._use(self.run_name)
        url = urlsplit(os.environ["DATABASE_URL"])
        return urlunsplit(url._replace(path=f"/{self.run_name}"))

    def __exit__(self, *exc: object) -> None:
        self._use(self.original)
        for name in (self.run_name, self.template):
            self._admin(f'DROP DATABASE IF EXISTS "{name}"')


def _start_workers(
    count: int, audit: bool, database_url: str, tracing: bool = False
) -> list[subprocess.Popen]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("OTEL_")}
    if tracing:
        env.update({"OTEL_TRACES_EXPORTER": "memory", "OTEL_SERVICE_NAME": "flowgate-bench"})
        disabled = os.environ.get("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS")
        if disabled:  # the same instrumentations left out as in this process
            env["OTEL_PYTHON_DISABLED_INSTRUMENTATIONS"] = disabled
    env.update(
        {
            "DATABASE_URL": database_url,
            "DJANGO_ENV": "test",
            "LOG_LEVEL": "WARNING",
            "FLOWGATE_AUDIT_ENABLED": "true" if audit else "false",
        }
    )
    procs = []
    for index in range(count):
        procs.append(
            subprocess.Popen(  # noqa: S603
                worker_command(
                    concurrency=1,
                    loglevel="WARNING",
                    pool=os.environ.get("BENCH_POOL", "prefork"),
                    name=f"bench{index}",
                    heartbeat=False,
                ),
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )
    time.sleep(4)  # let the workers connect before the clock starts
    return procs


def _stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _start_request(tracing: bool) -> AbstractContextManager:
    """What the start API's request adds when traced: a server span the instance joins."""
    if not tracing:
        return nullcontext()
    return flowgate_tracing.tracer().start_as_current_span(
        "POST /api/v1/instances/", kind=trace.SpanKind.SERVER
    )


def durable_run(
    databases: _FreshDatabases,
    *,
    workers: int,
    count: int,
    audit: bool = True,
    tracing: bool = False,
) -> dict:
    from apps.common.actors import Actor
    from apps.engine import services
    from apps.engine.models import InstanceStatus, Job, JobStatus, ProcessInstance
    from portal.celery import app

    database_url = databases.fresh()
    version = _version()
    app.control.purge()
    procs = _start_workers(workers, audit, database_url, tracing)
    actor = Actor.system("bench")
    try:
        started = time.perf_counter()
        first_id = None
        for n in range(count):
            with _start_request(tracing):
                instance = services.instance_start(version=version, variables={"n": n}, actor=actor)
            first_id = first_id or instance.pk
        last_id = instance.pk
        ids = (first_id, last_id)
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            done = ProcessInstance.objects.filter(
                pk__range=ids, status=InstanceStatus.COMPLETED
            ).count()
            if done == count:
                break
            time.sleep(0.25)
        elapsed = time.perf_counter() - started
    finally:
        _stop(procs)
    instances = ProcessInstance.objects.filter(pk__range=ids)
    jobs = Job.objects.filter(instance__pk__range=ids)
    latencies = [
        (finished - created).total_seconds() * 1000
        for created, finished in jobs.filter(status=JobStatus.DONE).values_list(
            "created_at", "finished_at"
        )
    ]
    completed = instances.filter(status=InstanceStatus.COMPLETED).count()
    cycle = [
        (ended - created).total_seconds() * 1000
        for created, ended in instances.filter(ended_at__isnull=False).values_list(
            "created_at", "ended_at"
        )
    ]
    cycle_q = statistics.quantiles(cycle, n=100) if len(cycle) > 1 else [0.0] * 99
    per_instance = {row for row in jobs.values_list("instance_id", "activity_id")}
    check = {
        "completed": completed,
        "expected": count,
        "jobs": jobs.count(),
        "jobs_expected": count * STEPS_PER_INSTANCE,
        "distinct_activations": len(per_instance),
        "jobs_not_done": jobs.exclude(status=JobStatus.DONE).count(),
        "retried_attempts": sum(a - 1 for a in jobs.values_list("attempts", flat=True) if a > 1),
    }
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {
        "workers": workers,
        "audit": audit,
        "tracing": tracing,
        "seconds": elapsed,
        "instances_per_s": count / elapsed,
        "steps_per_s": count * STEPS_PER_INSTANCE / elapsed,
        "p50_ms": quantiles[49],
        "p95_ms": quantiles[94],
        "cycle_p50_ms": cycle_q[49],
        "cycle_p95_ms": cycle_q[94],
        "check": check,
        "ok": check["completed"] == count
        and check["jobs"] == check["jobs_expected"] == check["distinct_activations"]
        and check["jobs_not_done"] == 0,
    }


ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CONFIGS = (  # (label, workers, audit, tracing)
    ("durable, 1 worker", 1, True, False),
    ("durable, 2 workers", 2, True, False),
    ("durable, 2 workers, tracing on", 2, True, True),
    ("durable, 1 worker, audit off", 1, False, False),
)
TRACING_ON = "durable, 2 workers, tracing on"


def _starter_tracing() -> tuple[SamplingSwitch, MemoryExporter]:
    """The SDK in this process (the one that starts the instances), sampling switched off."""
    switch, exporter = SamplingSwitch(), MemoryExporter()
    provider = TracerProvider(sampler=switch)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return switch, exporter


def run(report_dir: Path) -> dict:
    """ROUNDS rounds of: the bare baseline, then each durable configuration. One run varies by
    10-20% on a shared 2-core machine; the report gives medians and ranges, and each ratio is
    taken between medians measured in the same rounds."""
    bares: list[dict] = []
    runs: dict[str, list[dict]] = {label: [] for label, *_ in CONFIGS}
    switch, exporter = _starter_tracing()
    with _FreshDatabases() as databases:
        databases.fresh()
        spec_json = _version().spec_json
        commit_rate = pg_commit_rate()
        for _ in range(ROUNDS):
            bares.append(bare_spiff_rate(spec_json, BARE_INSTANCES))
            for label, workers, audit, traced in CONFIGS:
                switch.on = traced
                sql_spans = traced and flowgate_tracing.instrumentation_wanted("psycopg")
                if sql_spans:
                    flowgate_tracing.instrument_psycopg()
                try:
                    result = durable_run(
                        databases, workers=workers, count=INSTANCES, audit=audit, tracing=traced
                    )
                finally:
                    switch.on = False
                    if sql_spans:
                        PsycopgInstrumentor().uninstrument()
                runs[label].append(result)
    trace.get_tracer_provider().force_flush()  # type: ignore[attr-defined]
    report = {
        "bare": bares,
        "commit_rate": commit_rate,
        "runs": runs,
        "starter_spans": exporter.exported,
    }
    _write(report_dir / "engine.md", report)
    return report


def _median_run(runs: list[dict]) -> dict:
    return sorted(runs, key=lambda r: r["instances_per_s"])[len(runs) // 2]


def _write(path: Path, report: dict) -> None:
    bare_rates = [b["instances_per_s"] for b in report["bare"]]
    bare = statistics.median(bare_rates)
    dump_load = statistics.median(b["with_dump_load_per_s"] for b in report["bare"])
    commit = report["commit_rate"]

    def spread(values: list[float]) -> str:
        return f"{min(values):.0f}–{max(values):.0f}"

    lines = [
        "# Engine benchmark",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} ({os.cpu_count()} cores), "
        f"PostgreSQL + Redis + real Celery workers (prefork, concurrency 1 each), {INSTANCES} instances of "
        "`tests/engine/bpmn/bench_auto.bpmn` (service → exclusive gateway → parallel split → 2 services → "
        f"join → end; 3 jobs per instance), {ROUNDS} rounds. Written by `make bench`; every figure "
        "below comes from the same run.",
        "",
        "Each round measures the bare baseline, then each durable configuration. Figures are the "
        "median of the rounds (range in brackets); latencies and the check are those of the median "
        "run, and every run's check must pass.",
        "",
        "| run | instances/s | engine steps (jobs)/s | step latency p50 / p95 | instance start→end p50 / p95 | vs bare Spiff | all completed, no job lost or doubled |",
        "|---|---|---|---|---|---|---|",
        f"| bare in-process SpiffWorkflow (baseline) | {bare:.1f} [{spread(bare_rates)}] | "
        f"{bare * STEPS_PER_INSTANCE:.1f} | – | – | 1.00 | – |",
        f"| bare + dump/load between steps | {dump_load:.1f} | – | – | – | {dump_load / bare:.2f} | – |",
    ]
    medians: dict[str, float] = {}
    for label, runs in report["runs"].items():
        rates = [r["instances_per_s"] for r in runs]
        medians[label] = statistics.median(rates)
        r = _median_run(runs)
        all_ok = all(run["ok"] for run in runs)
        lines.append(
            f"| {label} | {medians[label]:.1f} [{spread(rates)}] | "
            f"{medians[label] * STEPS_PER_INSTANCE:.1f} | {r['p50_ms']:.0f} / {r['p95_ms']:.0f} ms | "
            f"{r['cycle_p50_ms']:.0f} / {r['cycle_p95_ms']:.0f} ms | {medians[label] / bare:.2f} | "
            f"{'yes' if all_ok else 'NO'} {r['check']} |"
        )
    durable = {
        label: rate
        for label, rate in medians.items()
        if "audit off" not in label and "tracing" not in label
    }
    best_label = max(durable, key=lambda label: durable[label])
    best_steps = durable[best_label] * STEPS_PER_INSTANCE
    audit_on = medians["durable, 1 worker"]
    audit_off = medians["durable, 1 worker, audit off"]
    traced, untraced = medians[TRACING_ON], medians["durable, 2 workers"]
    lines += [
        "",
        f"- PostgreSQL single-row commit rate (same run): **{commit:.0f} commits/s**; the best durable "
        f"configuration makes {best_steps:.0f} engine steps/s = **{best_steps / commit:.1%}** of it "
        "(goal ≥ 25%).",
        f"- Durable / bare ratio: **{durable[best_label] / bare:.2f}** ({best_label}; goal ≥ 0.35 "
        "with 2 workers, ≥ 0.25 with 1); "
        + ", ".join(f"{label.split(', ')[1]}: {rate / bare:.2f}" for label, rate in durable.items())
        + ".",
        f"- Auditing on vs off (1 worker, medians): {audit_on:.1f} vs {audit_off:.1f} instances/s = "
        f"**{(1 - audit_on / audit_off):.1%}** throughput lost to auditing (goal < 15%)"
        + (
            "; below zero means the cost is smaller than the run-to-run noise."
            if audit_on > audit_off
            else "."
        ),
        f"- Tracing on vs off (2 workers, medians): {traced:.1f} vs {untraced:.1f} instances/s = "
        f"**{(1 - traced / untraced):.1%}** throughput lost to tracing (goal < 5%)"
        + (
            "; below zero means the cost is smaller than the run-to-run noise."
            if traced > untraced
            else "."
        )
        + " Tracing on: the workers run the OpenTelemetry SDK (`OTEL_TRACES_EXPORTER=memory`: "
        "batch span processor into process memory, Django/psycopg/Celery instrumentations, "
        "nothing sent) and the starting process records a server span per start and its SQL "
        f"spans into an in-memory exporter ({report.get('starter_spans', 0)} spans in this run); "
        "tracing off: no `OTEL_*` variable on the workers, the starting process's SDK sampling "
        "off and no span of its own.",
        "- Instance starts are made by the benchmark process itself (the API's work) while the workers "
        "drain jobs; the clock runs from the first start to the last completion.",
        "- `echo` is a chainable connector: a worker runs the first job and the two parallel steps "
        "after it and applies them in one transaction (docs/connectors.md), so those two steps have "
        "~0 ms step latency and the p50 is theirs. The step latency of the first job is queueing "
        "behind the 2,000 starts; the instance column is the whole cycle, start to end.",
        "- Each durable run starts on a fresh copy of a migrated database (empty tables).",
        "- Workers keep their PostgreSQL connection between tasks (portal/celery.py); Celery's default "
        "reconnected around every task and cost about half the throughput.",
        "",
    ]
    path.write_text("\n".join(lines))
    print("\n".join(lines))
