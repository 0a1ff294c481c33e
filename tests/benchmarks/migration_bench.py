"""Migration benchmark (issue #21): N instances waiting in version 1 move to version 2.

Run with `make bench` (or `python -m tests.benchmarks migration`). Writes
docs/benchmarks/migration.md. Uses the database the benchmark is given (its own process key,
``bench_migrate``, so repeated runs add new versions beside the old ones). Measures the dry run
(in the request) and the real run as a worker runs it (``migration_run_execute`` in this
process), then completes every moved instance on version 2 and runs the invariant checker.
"""

from __future__ import annotations

import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

COUNT = int(os.environ.get("BENCH_MIGRATION_INSTANCES", "500"))
GOAL_SECONDS = 10.0
ROOT = Path(__file__).resolve().parents[2]
KEY = "bench_migrate"


def _xml(name: str) -> bytes:
    return (
        (ROOT / "tests" / "engine" / "bpmn" / name)
        .read_bytes()
        .replace(b'"leave"', b'"bench_migrate"')
    )


def run(report_dir: Path) -> dict:
    from django.conf import settings
    from django.contrib.auth.models import Group

    from apps.accounts.models import User
    from apps.audit.services import chain_link_pending
    from apps.common.actors import Actor
    from apps.engine import operator_services
    from apps.engine import services as engine
    from apps.engine.models import InstanceStatus, ProcessInstance
    from apps.inbox import services as inbox
    from apps.inbox.models import HumanTask, TaskStatus
    from apps.invariants.checks import run_checks
    from apps.processes import services as process_services

    actor = Actor.system("bench")
    old = process_services.version_deploy(xml=_xml("migrate_v1.bpmn"), actor=actor).version
    new = process_services.version_deploy(xml=_xml("migrate_v2.bpmn"), actor=actor).version
    ids = [
        engine.instance_start(version=old, variables={"days": i % 9}, actor=actor).pk
        for i in range(COUNT)
    ]
    mapping = {"review": "check"}
    started = time.perf_counter()
    dry = operator_services.instances_migrate(
        process_key=KEY,
        from_version=old.number,
        to_version=new.number,
        instance_ids=ids,
        mapping=mapping,
        dry_run=True,
        actor=actor,
    )
    dry_s = time.perf_counter() - started
    queued = operator_services.migration_run_start(
        process_key=KEY,
        from_version=old.number,
        to_version=new.number,
        instance_ids=ids,
        mapping=mapping,
    )
    started = time.perf_counter()
    finished = operator_services.migration_run_execute(run_id=queued.pk)
    real_s = time.perf_counter() - started

    manager, _ = User.objects.get_or_create(username="bench-migrate-manager")
    approver, _ = User.objects.get_or_create(username="bench-migrate-approver")
    for user, role in ((manager, "manager"), (approver, "approver")):
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    started = time.perf_counter()
    for activity, user in (("check", manager), ("confirm", approver)):
        for task in HumanTask.objects.filter(
            instance_id__in=ids, activity_id=activity, status=TaskStatus.OPEN
        ):
            inbox.task_complete(task_id=task.pk, user=user, data={}, actor=Actor.for_user(user))
    for instance in ProcessInstance.objects.filter(pk__in=ids):
        for job_id in instance.jobs.filter(status="pending").values_list("pk", flat=True):
            engine.job_run(job_id=job_id, worker_id="bench")
    complete_s = time.perf_counter() - started
    completed = ProcessInstance.objects.filter(
        pk__in=ids, version=new, status=InstanceStatus.COMPLETED
    ).count()
    while chain_link_pending():  # what beat's audit.link does every second
        pass
    checks = run_checks()
    report = {
        "count": COUNT,
        "threads": settings.FLOWGATE_MIGRATION_THREADS,
        "dry_s": dry_s,
        "dry_movable": dry["movable"],
        "real_s": real_s,
        "moved": finished.moved,
        "refused": finished.refused,
        "complete_s": complete_s,
        "completed": completed,
        "violations": [str(v) for v in checks.violations],
    }
    _write(report_dir / "migration.md", report)
    return report


def _write(path: Path, r: dict) -> None:
    def verdict(seconds: float) -> str:
        return "met" if seconds < GOAL_SECONDS else "missed"

    lines = [
        "# Migration benchmark",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} ({os.cpu_count()} "
        f"cores), PostgreSQL; {r['count']} instances of `tests/engine/bpmn/migrate_v1.bpmn` waiting "
        "at their first user task (with a boundary timer) move to `migrate_v2.bpmn` (the task "
        "renamed and given to another role, a step added after it, the service task's inputs "
        "changed), mapping `{review: check}`. Written by `make bench` "
        "(`python -m tests.benchmarks migration`; `BENCH_MIGRATION_INSTANCES` sets the count).",
        "",
        f"| step | seconds | per instance | goal (< {GOAL_SECONDS:.0f} s) | result |",
        "|---|---|---|---|---|",
        f"| dry run (in the request) | {r['dry_s']:.2f} | {1000 * r['dry_s'] / r['count']:.1f} ms | "
        f"{verdict(r['dry_s'])} | {r['dry_movable']} can move |",
        f"| real run (the worker's batch, one transaction each, {r['threads']} threads) | "
        f"{r['real_s']:.2f} | "
        f"{1000 * r['real_s'] / r['count']:.1f} ms | {verdict(r['real_s'])} | {r['moved']} moved, "
        f"{r['refused']} refused |",
        f"| then complete every instance on v2 (2 tasks + 1 job each) | {r['complete_s']:.2f} | "
        f"{1000 * r['complete_s'] / r['count']:.1f} ms | – | {r['completed']} of {r['count']} "
        "completed on v2 |",
        "",
        f"Invariant checker after the run: {len(r['violations'])} violation(s)."
        + ("" if not r["violations"] else " " + "; ".join(r["violations"][:5])),
        "",
        "A move is mostly waiting for the database (about 19 round trips: the lock, the state, "
        "the inbox re-creating the waiting task from the new version with its candidates, SLA, "
        "access grants and substitutions, the audit events); the worker moves "
        "`FLOWGATE_MIGRATION_THREADS` instances side by side, each in its own transaction "
        "(decision 035).",
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")
