"""Audit benchmark: append throughput with 8 concurrent writers, and full verification time.

Run with `make bench` (or `python -m tests.benchmarks audit`). Writes docs/benchmarks/audit.md.

Audit events cannot be deleted, so the benchmark never touches the configured database's trail:
it creates a scratch database ``<name>_audit_bench`` next to it (PostgreSQL only), migrates the
audit app into it, measures, and drops it again.
"""

from __future__ import annotations

import multiprocessing
import os
import platform
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

WRITERS = int(os.environ.get("BENCH_AUDIT_WRITERS", "8"))
APPEND_SECONDS = float(os.environ.get("BENCH_AUDIT_APPEND_SECONDS", "10"))
VERIFY_EVENTS = int(os.environ.get("BENCH_AUDIT_VERIFY_EVENTS", "100000"))
GOAL_APPEND_PER_SECOND = 1000
GOAL_VERIFY_SECONDS = 10.0


def _setup_django() -> None:
    from django.conf import settings

    if not settings.configured:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
        import django

        django.setup()


class _ScratchDatabase:
    """Point the default connection at a fresh database for the duration of the benchmark."""

    def __init__(self, suffix: str = "audit_bench", apps: tuple[str, ...] = ("audit",)) -> None:
        from django.db import connections

        self.connection = connections["default"]
        self.original = self.connection.settings_dict["NAME"]
        self.name = f"{self.original}_{suffix}"
        self.apps = apps  # () migrates every app

    def _admin(self, sql: str) -> None:
        with self.connection._nodb_cursor() as cursor:
            cursor.execute(sql)

    def __enter__(self) -> str:
        from django.core.management import call_command

        self.connection.close()
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}"')
        self._admin(f'CREATE DATABASE "{self.name}"')
        self.connection.settings_dict["NAME"] = self.name
        call_command("migrate", *self.apps, verbosity=0)
        return self.name

    def __exit__(self, *exc: object) -> None:
        self.connection.close()
        self.connection.settings_dict["NAME"] = self.original
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}"')


def _append_worker(n: int, start_at: float, seconds: float, results: Any) -> None:
    """One writer process: its own connection, one record() per transaction until time is up."""
    from django.db import connection, transaction

    from apps.audit.actions import AuditAction
    from apps.audit.services import record
    from apps.common.actors import Actor

    actor = Actor.system(f"bench-{n}")
    count = 0
    try:
        connection.ensure_connection()
        time.sleep(max(0.0, start_at - time.time()))
        stop_at = start_at + seconds
        while time.time() < stop_at:
            with transaction.atomic():
                record(
                    AuditAction.JOB_SUCCEEDED,
                    actor=actor,
                    process_key="bench",
                    instance_id=n,
                    job_id=count,
                    after={"status": "done", "attempt": 1},
                )
            count += 1
        results.put((n, count, ""))
    except BaseException as exc:  # reported by the parent
        results.put((n, count, repr(exc)))
    finally:
        connection.close()


def _linker_worker(start_at: float, seconds: float, every: float, results: Any) -> None:
    """The audit.link task as beat runs it: chain everything waiting, every ``every`` seconds."""
    from django.db import connection

    from apps.audit.models import AuditPending
    from apps.audit.services import chain_link_pending

    runs, linked, busy, backlog = 0, 0, 0.0, 0
    try:
        time.sleep(max(0.0, start_at - time.time()))
        while time.time() < start_at + seconds:
            backlog = max(backlog, AuditPending.objects.count())
            began = time.perf_counter()
            linked += chain_link_pending()
            busy += time.perf_counter() - began
            runs += 1
            time.sleep(max(0.0, every - (time.perf_counter() - began)))
        results.put(("linker", runs, linked, busy, backlog, ""))
    except BaseException as exc:  # reported by the parent
        results.put(("linker", runs, linked, busy, backlog, repr(exc)))
    finally:
        connection.close()


def measure_append(writers: int, seconds: float, *, link_every: float = 1.0) -> dict:
    """``writers`` processes (each its own connection, like web/worker processes) commit one
    ``record()`` per transaction while a linker process runs ``audit.link`` every second."""
    from django.db import connections

    from apps.audit.models import AuditPending
    from apps.audit.services import chain_link_pending

    context = multiprocessing.get_context("fork")
    results = context.Queue()
    linker_results = context.Queue()
    connections.close_all()  # children must not share the parent's socket
    start_at = time.time() + 1.0 + 0.2 * writers
    processes = [
        context.Process(target=_append_worker, args=(n, start_at, seconds, results))
        for n in range(writers)
    ]
    processes.append(
        context.Process(target=_linker_worker, args=(start_at, seconds, link_every, linker_results))
    )
    for process in processes:
        process.start()
    reported = [results.get(timeout=seconds + 60) for _ in range(writers)]
    _, link_runs, link_linked, link_busy, link_backlog, link_error = linker_results.get(
        timeout=seconds + 60
    )
    for process in processes:
        process.join()
    if link_error:
        raise RuntimeError(f"the linker failed: {link_error}")
    elapsed = seconds
    failures = [error for _, _, error in reported if error]
    if failures:
        raise RuntimeError(f"a writer failed: {failures[0]}")
    counts = [count for _, count, _ in sorted(reported)]
    total = sum(counts)
    left_waiting = AuditPending.objects.count()
    sweep_started = time.perf_counter()
    swept = chain_link_pending()
    return {
        "writers": writers,
        "events": total,
        "seconds": round(elapsed, 2),
        "events_per_second": round(total / elapsed, 1),
        "per_writer": counts,
        "left_for_sweep": left_waiting,
        "sweep_linked": swept,
        "sweep_seconds": round(time.perf_counter() - sweep_started, 3),
        "linker_runs": link_runs,
        "linker_linked": link_linked,
        "linker_busy_seconds": round(link_busy, 2),
        "linker_max_backlog": link_backlog,
    }


def fill_chain_to(target: int, *, instance_of=None, process_key: str = "invoice-approval") -> float:
    """Extend the chain to ``target`` links with correct hashes, in bulk (INSERT only);
    ``instance_of(n)``: the instance id of the n-th new event (default: a new one every 10)."""
    from django.db import transaction
    from django.utils import timezone

    from apps.audit.chain import event_hash as link_hash
    from apps.audit.chain import normalize_json
    from apps.audit.models import AuditChainHead, AuditEvent, AuditLink, AuditPending
    from apps.audit.services import _lock_chain_head, _mac

    started = time.perf_counter()
    with transaction.atomic():
        head = _lock_chain_head()
        seq, prev_hash = head.position, head.hash
        position = AuditEvent.objects.order_by("-position").values_list("position", flat=True)[0]
        base_time = timezone.now()
        first = seq
        events: list[AuditEvent] = []
        links: list[AuditLink] = []
        while seq < target:
            seq += 1
            position += 1
            fields = {
                "position": position,
                "time": base_time + timedelta(microseconds=seq),
                "actor_kind": "user",
                "actor_id": str(seq % 50),
                "actor_label": f"user{seq % 50}",
                "on_behalf_of": "",
                "action": "task.completed",
                "process_key": process_key,
                "version_id": 3,
                "instance_id": seq // 10 if instance_of is None else instance_of(seq - first - 1),
                "task_id": seq,
                "job_id": None,
                "before": normalize_json({"status": "claimed"}),
                "after": normalize_json({"status": "completed", "amount": seq * 1.5}),
                "data": normalize_json({"comment": "looks fine", "n": seq}),
                "request_id": f"{seq:032x}",
                "client_address": "10.0.0.1",
            }
            events.append(AuditEvent(**fields, mac=_mac(fields)))  # as record() signs
            fields.update(seq=seq, prev_hash=prev_hash)
            new_hash = link_hash(fields)
            links.append(AuditLink(seq=seq, event_id=position, prev_hash=prev_hash, hash=new_hash))
            prev_hash = new_hash
            if len(events) >= 5000:
                AuditEvent.objects.bulk_create(events)
                AuditLink.objects.bulk_create(links)
                events, links = [], []
        if events:
            AuditEvent.objects.bulk_create(events)
            AuditLink.objects.bulk_create(links)
        AuditChainHead.objects.filter(pk=1).update(position=seq, hash=prev_hash)
        AuditPending.objects.all().delete()  # the trigger queued them; they are linked already
    return time.perf_counter() - started


def measure_verify() -> dict:
    from apps.audit.verification import chain_verify

    started = time.perf_counter()
    result = chain_verify(anchor_file=Path(os.devnull))
    elapsed = time.perf_counter() - started
    if not result.intact:
        raise RuntimeError(f"benchmark chain is not intact: {result.summary()}")
    return {
        "events": result.events,
        "seconds": round(elapsed, 2),
        "events_per_second": round(result.events / elapsed, 1),
    }


def measure_raw_commits(writers: int, seconds: float) -> float:
    """PostgreSQL's commit rate for a one-row INSERT per transaction (no audit), for reference."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_commit_probe (id bigserial, v int)")
    counts = [0] * writers
    start = threading.Barrier(writers)

    def writer(n: int) -> None:
        try:
            connection.ensure_connection()
            start.wait()
            stop = time.perf_counter() + seconds
            while time.perf_counter() < stop:
                with connection.cursor() as cursor:
                    cursor.execute("INSERT INTO bench_commit_probe (v) VALUES (%s)", [n])
                counts[n] += 1  # autocommit: one transaction per statement
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return round(sum(counts) / seconds, 1)


def _postgres_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
        cursor.execute("SHOW synchronous_commit")
        sync = cursor.fetchone()[0]
    return f"PostgreSQL {version} (synchronous_commit={sync})"


def write_report(report_dir: Path, results: dict) -> Path:
    append = results["append"]
    single = results["append_single"]
    verify = results["verify"]
    ok_append = append["events_per_second"] >= GOAL_APPEND_PER_SECOND
    ok_verify = verify["seconds"] < GOAL_VERIFY_SECONDS
    lines = [
        "# Audit trail benchmark",
        "",
        f"Generated by `tests/benchmarks/audit_bench.py` on {results['when']} — "
        f"{results['machine']}, {results['database']}.",
        "",
        "| measure | result | goal | met |",
        "|---|---|---|---|",
        f"| append, {append['writers']} concurrent writers (1 event per transaction, "
        f"{append['seconds']} s) | **{append['events_per_second']:,.0f} events/s** "
        f"({append['events']:,} events) | ≥ {GOAL_APPEND_PER_SECOND:,} events/s | "
        f"{'yes' if ok_append else 'NO'} |",
        f"| append, 1 writer (same) | {single['events_per_second']:,.0f} events/s | — | — |",
        f"| full verification of {verify['events']:,} events | **{verify['seconds']} s** "
        f"({verify['events_per_second']:,.0f} events/s) | < {GOAL_VERIFY_SECONDS:.0f} s | "
        f"{'yes' if ok_verify else 'NO'} |",
        "",
        "## Method",
        "",
        "- A scratch database is created next to the configured one and only the audit app is "
        "migrated into it (audit events cannot be deleted, so the real trail is never used).",
        f"- Append: {append['writers']} processes, each with its own database connection, each "
        "committing `record()` in its own transaction as fast as it can for the stated time, "
        "while a separate process runs the linker (`audit.link`) once a second, as Celery beat "
        "does. Writers take no shared lock, so their commits group-commit. Per-writer counts: "
        f"{', '.join(str(c) for c in append['per_writer'])}.",
        f"- Linker: {append['linker_runs']} runs chained {append['linker_linked']:,} events in "
        f"{append['linker_busy_seconds']} s of work (largest backlog seen: "
        f"{append['linker_max_backlog']:,} events); the {append['left_for_sweep']:,} still "
        f"waiting when the writers stopped were chained by one more run in "
        f"{append['sweep_seconds']} s. The chain was verified intact afterwards (no fork).",
        f"- Reference: PostgreSQL's own commit rate on this machine (a one-row INSERT per "
        f"transaction, no audit): {results['raw_commits']['1']:,.0f}/s with 1 connection, "
        f"{results['raw_commits'][str(append['writers'])]:,.0f}/s with "
        f"{append['writers']}. The first design (chain head locked inside the caller's "
        "transaction until its commit) was bounded by the single-connection figure; see "
        "docs/decisions/ on deferred linking.",
        f"- Verification: the chain is extended to {verify['events']:,} events with correct "
        f"links by bulk INSERT ({results['fill_seconds']:.1f} s, not part of the figure), then "
        "`chain_verify()` (the code behind `manage.py audit_verify`) streams every row "
        "(`values_list(...).iterator()`, server-side cursor) and recomputes each SHA-256.",
        "",
        f"- Machine load (1-minute load average) {results['load_before']} before and "
        f"{results['load_after']} after the run: the writers are CPU-bound in Python (the "
        "database mostly waits for its clients), so figures on a shared machine move with its "
        "load; compare them with the reference commit rates above, taken in the same run.",
        "",
        "Engine throughput with auditing on vs off is measured by the engine benchmark "
        "(docs/benchmarks/engine.md), not here.",
        "",
    ]
    path = report_dir / "audit.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def run(report_dir: Path) -> dict:
    _setup_django()
    from django.conf import settings

    if settings.DB_VENDOR != "postgresql":
        raise RuntimeError("The audit benchmark needs PostgreSQL (set DATABASE_URL).")
    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    results: dict = {
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}",
        "load_before": round(os.getloadavg()[0], 2),
    }
    with _ScratchDatabase():
        results["database"] = _postgres_version()
        results["raw_commits"] = {
            "1": measure_raw_commits(1, 2.0),
            str(WRITERS): measure_raw_commits(WRITERS, 2.0),
        }
        results["append_single"] = measure_append(1, min(3.0, APPEND_SECONDS))
        results["append"] = measure_append(WRITERS, APPEND_SECONDS)
        from apps.audit.verification import chain_verify

        after_append = chain_verify(anchor_file=Path(os.devnull))
        if not after_append.intact:
            raise RuntimeError(f"chain forked under concurrency: {after_append.summary()}")
        results["fill_seconds"] = fill_chain_to(VERIFY_EVENTS)
        results["verify"] = measure_verify()
    results["load_after"] = round(os.getloadavg()[0], 2)
    results["report"] = str(write_report(report_dir, results))
    print(
        f"audit: append {results['append']['events_per_second']:,.0f} events/s with "
        f"{WRITERS} writers; verify {results['verify']['events']:,} events in "
        f"{results['verify']['seconds']} s -> {results['report']}"
    )
    return results
