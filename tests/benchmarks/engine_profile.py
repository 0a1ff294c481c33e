"""Engine profile: where one durable step and one instance start spend their time.

Run with `python -m tests.benchmarks profile` (PostgreSQL + Redis, as `make bench`). Starts
PROFILE_INSTANCES instances of the benchmark process in this process, then runs every job the
way a worker does (``job_run``), in this process too, under cProfile and with every SQL statement
counted and timed. Writes docs/benchmarks/engine-profile.md: self time by area (SpiffWorkflow,
serialization, Django ORM, the PostgreSQL driver, the broker, audit, Flowgate's own code), the
statements per step, and the heaviest functions.
"""

from __future__ import annotations

import cProfile
import os
import platform
import pstats
import re
import time
from collections import Counter, defaultdict
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from django.db import connection

from tests.benchmarks.engine_bench import STEPS_PER_INSTANCE, _FreshDatabases, _version

COUNT = int(os.environ.get("PROFILE_INSTANCES", "300"))
TASKS = int(os.environ.get("PROFILE_TASKS", "200"))

AREAS = (  # (area, pattern on the file name), first match wins
    ("SpiffWorkflow (engine)", r"SpiffWorkflow/(?!bpmn/serializer|serializer)"),
    ("SpiffWorkflow serializer", r"SpiffWorkflow/.*serializer"),
    ("JSON", r"/json/|_json"),
    ("PostgreSQL driver (psycopg)", r"psycopg"),
    ("Django ORM", r"django/db/"),
    ("Django (other)", r"django/"),
    ("broker (Celery, kombu, redis)", r"celery/|kombu/|redis/|amqp/|vine/"),
    ("audit (apps/audit)", r"apps/audit/"),
    ("engine core (apps/engine/core)", r"apps/engine/core/"),
    ("engine runtime (apps/engine/runtime)", r"apps/engine/runtime/"),
    ("inbox (apps/inbox)", r"apps/inbox/"),
    ("reports (apps/reports)", r"apps/reports/"),
    ("Flowgate (other apps)", r"apps/"),
    ("Python (stdlib, builtins)", r"."),
)


class _Statements:
    """Every SQL statement: its kind and table, and the time it took (round trip included)."""

    def __init__(self) -> None:
        self.count: Counter[str] = Counter()
        self.seconds: defaultdict[str, float] = defaultdict(float)

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            key = _statement_key(sql)
            self.count[key] += 1
            self.seconds[key] += time.perf_counter() - started


def _statement_key(sql: str) -> str:
    words = sql.strip().split()
    verb = words[0].upper() if words else "?"
    table = ""
    for marker in ("FROM", "INTO", "UPDATE"):
        match = re.search(rf'\b{marker}\s+"?(\w+)"?', sql, re.IGNORECASE)
        if match:
            table = match.group(1)
            break
    if verb == "SELECT" and "FOR UPDATE" in sql.upper():
        verb = "SELECT … FOR UPDATE"
    return f"{verb} {table}".strip()


@contextmanager
def _measured():
    profile = cProfile.Profile()
    statements = _Statements()
    with connection.execute_wrapper(statements):
        profile.enable()
        started = time.perf_counter()
        cpu = time.process_time()
        try:
            yield profile, statements
        finally:
            profile.disable()
            statements.elapsed = time.perf_counter() - started
            statements.cpu = time.process_time() - cpu


def _calls(profile: cProfile.Profile) -> dict[str, int]:
    """Python function calls by area: deterministic for a given tree and workload, so the
    machine-independent measure of Python work to compare two trees by."""
    stats = pstats.Stats(profile)
    totals: Counter[str] = Counter()
    for (filename, _line, _name), (_cc, calls, _tt, _ct, _callers) in stats.stats.items():
        for area, pattern in AREAS:
            if re.search(pattern, filename):
                totals[area] += calls
                break
    return dict(totals)


def _areas(profile: cProfile.Profile) -> dict[str, float]:
    stats = pstats.Stats(profile)
    totals: defaultdict[str, float] = defaultdict(float)
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():
        for area, pattern in AREAS:
            if re.search(pattern, filename):
                totals[area] += tottime
                break
    return dict(totals)


def _top(profile: cProfile.Profile, limit: int = 25) -> list[tuple[str, int, float, float]]:
    stats = pstats.Stats(profile)
    rows = []
    root = str(Path(__file__).resolve().parents[2])
    for (filename, line, name), (_cc, calls, tottime, cumtime, _c) in stats.stats.items():
        short = filename.replace(root + "/", "")
        short = re.sub(r".*site-packages/", "", short)
        rows.append((f"{short}:{line} {name}", calls, tottime, cumtime))
    return sorted(rows, key=lambda r: r[2], reverse=True)[:limit]


def profile_run() -> dict:
    from apps.common.actors import Actor
    from apps.engine import services
    from apps.engine.models import Job, JobStatus
    from apps.engine.runtime.continuation import job_run
    from portal.celery import app

    version = _version()
    actor = Actor.system("profile")
    app.control.purge()
    with _measured() as (start_profile, start_sql):
        for n in range(COUNT):
            services.instance_start(version=version, variables={"n": n}, actor=actor)
    with _measured() as (step_profile, step_sql):
        executed = 0
        while True:
            due = list(
                Job.objects.filter(status=JobStatus.PENDING).values_list("pk", "instance_id")[:200]
            )
            if not due:
                break
            for job_id, instance_id in due:
                executed += job_run(job_id=job_id, worker_id="profile", instance_id=instance_id)
    app.control.purge()
    steps = Job.objects.filter(status=JobStatus.DONE).count()
    assert steps == COUNT * STEPS_PER_INSTANCE, (steps, executed)
    rates = _unprofiled(version, actor)
    return {
        "start": (start_profile, start_sql),
        "steps": (step_profile, step_sql),
        "executed": executed,
        "jobs": steps,
        "rates": rates,
    }


def _run_due(worker_id: str) -> int:
    from apps.engine.models import Job, JobStatus
    from apps.engine.runtime.continuation import job_run

    executed = 0
    while True:
        due = list(
            Job.objects.filter(status=JobStatus.PENDING).values_list("pk", "instance_id")[:200]
        )
        if not due:
            return executed
        for job_id, instance_id in due:
            executed += job_run(job_id=job_id, worker_id=worker_id, instance_id=instance_id)


def _unprofiled(version, actor) -> dict:
    """The same work again without the profiler: how fast one process starts instances, and how
    fast one process (a worker) runs their steps, each alone. Wall and CPU (this process; the
    database's CPU is not in it). Says which side bounds the engine benchmark."""
    from apps.engine import services
    from portal.celery import app

    wall, cpu = time.perf_counter(), time.process_time()
    for n in range(COUNT):
        services.instance_start(version=version, variables={"n": n}, actor=actor)
    start = (time.perf_counter() - wall, time.process_time() - cpu)
    app.control.purge()
    wall, cpu = time.perf_counter(), time.process_time()
    executed = _run_due("profile-unprofiled")
    steps = (time.perf_counter() - wall, time.process_time() - cpu)
    assert executed == COUNT * STEPS_PER_INSTANCE, executed
    return {"start": start, "steps": steps, "instances": COUNT}


def profile_completions() -> tuple:
    """Approve the first gate of TASKS two-gate requests through the inbox service, as the
    approve button does (the second gate's task is created in the same transaction)."""
    from django.contrib.auth.models import Group

    from apps.accounts.models import User
    from apps.common.actors import Actor
    from apps.engine import services
    from apps.inbox.models import HumanTask, TaskStatus
    from apps.inbox.services import task_complete
    from apps.processes.services import version_deploy
    from tests.benchmarks.inbox_bench import PROCESS

    version = version_deploy(xml=PROCESS, actor=Actor.system("profile")).version
    requester = User.objects.create(username="profile-requester")
    approver = User.objects.create(username="profile-approver")
    for n in range(TASKS):
        services.instance_start(
            version=version,
            variables={"amount": n},
            actor=Actor.for_user(requester),
            started_by=requester,
        )
    approver.groups.add(Group.objects.get(name="approver"))  # made with the first task's grants
    approver = User.objects.get(pk=approver.pk)
    tasks = list(
        HumanTask.objects.filter(activity_id="gate_one", status=TaskStatus.OPEN).values_list(
            "pk", flat=True
        )
    )
    actor = Actor.for_user(approver)
    with _measured() as (profile, statements):
        for task_id in tasks:
            task_complete(task_id=task_id, user=approver, data={"approved": True}, actor=actor)
    assert HumanTask.objects.filter(activity_id="gate_two", status=TaskStatus.OPEN).count() == len(
        tasks
    )
    return profile, statements, len(tasks)


def run(report_dir: Path) -> dict:
    with _FreshDatabases() as databases:
        databases.fresh()
        result = profile_run()
        result["complete"] = profile_completions()
    _write(report_dir / "engine-profile.md", result)
    return result


def _section(title: str, profile, statements, per: int, unit: str) -> list[str]:
    areas = _areas(profile)
    calls = _calls(profile)
    total = sum(areas.values())
    sql_seconds = sum(statements.seconds.values())
    lines = [
        f"## {title}",
        "",
        f"{statements.elapsed / per * 1000:.2f} ms per {unit} (wall, under cProfile, which "
        f"inflates Python-heavy parts; {statements.cpu / per * 1000:.2f} ms of it this process's "
        f"CPU); {sum(statements.count.values()) / per:.1f} SQL statements "
        f"per {unit} taking {sql_seconds / per * 1000:.2f} ms (round trips included); "
        f"**{sum(calls.values()) / per:,.0f} Python function calls per {unit}** (deterministic: "
        "the machine-independent measure of Python work).",
        "",
        "| area (self time) | ms per " + unit + " | share | function calls per " + unit + " |",
        "|---|---|---|---|",
    ]
    for area, seconds in sorted(areas.items(), key=lambda kv: kv[1], reverse=True):
        lines.append(
            f"| {area} | {seconds / per * 1000:.3f} | {seconds / total:.1%} "
            f"| {calls.get(area, 0) / per:,.0f} |"
        )
    lines += ["", f"| statement | per {unit} | ms per {unit} |", "|---|---|---|"]
    for key, count in statements.count.most_common():
        lines.append(
            f"| `{key}` | {count / per:.2f} | {statements.seconds[key] / per * 1000:.3f} |"
        )
    lines += [
        "",
        "Heaviest functions by self time:",
        "",
        "| function | calls | self s | cumulative s |",
        "|---|---|---|---|",
    ]
    for name, calls, tottime, cumtime in _top(profile):
        lines.append(f"| `{name}` | {calls} | {tottime:.3f} | {cumtime:.3f} |")
    return lines + [""]


MARKER = "<!-- Everything below is written by `python -m tests.benchmarks profile`. -->"


def _write(path: Path, result: dict) -> None:
    """The generated tables go below MARKER; the text above it (the reading of the figures,
    before/after) is kept."""
    kept = ""
    if path.exists() and MARKER in path.read_text():
        kept = path.read_text().split(MARKER)[0]
    start_profile, start_sql = result["start"]
    step_profile, step_sql = result["steps"]
    lines = [
        kept.rstrip() if kept else "# Engine profile",
        "",
        MARKER,
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} "
        f"({os.cpu_count()} cores) by `python -m tests.benchmarks profile` "
        f"(`DJANGO_ENV=test DATABASE_URL=postgres://… REDIS_URL=redis://…`): {COUNT} instances of "
        "`tests/engine/bpmn/bench_auto.bpmn` started in one process, then their "
        f"{result['jobs']} jobs run by `job_run` in the same process, as a worker runs them "
        "(the chain path: the first job and the two parallel ones after it in one transaction).",
        "",
    ]
    rates = result["rates"]
    (start_wall, start_cpu), (step_wall, step_cpu) = rates["start"], rates["steps"]
    n = rates["instances"]
    lines += [
        "## Each side alone, without the profiler (loaded-machine timings)",
        "",
        f"{n} more instances started by this process, then their steps run by it as one worker "
        "would, one after the other (wall time; CPU is this process's, not the database's):",
        "",
        "| side | per instance: wall ms | per instance: CPU ms | instances/s |",
        "|---|---|---|---|",
        f"| starts (the API, or the benchmark's starter) | {start_wall / n * 1000:.2f} "
        f"| {start_cpu / n * 1000:.2f} | {n / start_wall:.0f} |",
        f"| steps ({STEPS_PER_INSTANCE} jobs per instance, one worker) | "
        f"{step_wall / n * 1000:.2f} | {step_cpu / n * 1000:.2f} | {n / step_wall:.0f} |",
        "",
    ]
    lines += _section("Instance start (the API's work)", start_profile, start_sql, COUNT, "start")
    lines += _section(
        "Engine steps (a worker's work)", step_profile, step_sql, result["jobs"], "step"
    )
    complete_profile, complete_sql, completed = result["complete"]
    lines += _section(
        f"Approving a task (the inbox service; {completed} approvals of a two-gate request, "
        "each creating the next gate's task)",
        complete_profile,
        complete_sql,
        completed,
        "approval",
    )
    path.write_text("\n".join(lines))
    print("\n".join(lines))
