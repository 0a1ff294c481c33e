"""Retention purge benchmark (issue 24): how fast are archived instances purged, and does the
audit chain still verify afterwards?

Run with `python -m tests.benchmarks purge` (on request only). Prints its figures; the history
benchmark's page (docs/benchmarks/history.md) quotes them.

A scratch database ``<name>_purge_bench`` (PostgreSQL), migrated, holding ``BENCH_PURGE``
finished instances of one process (two completed tasks each with their object permissions, as
the history benchmark generates them) and ``BENCH_PURGE_EVENTS`` audit events per instance on a
real chain (correct hashes and writer MACs, so that ``chain_verify`` can pass afterwards). Then
``retention_purge`` runs in batches of ``BENCH_PURGE_BATCH`` and the two halves of each batch
are timed and their SQL statements counted apart:

- *archive*: build each instance's archive (JSON lines + evidence package) and write it to
  storage (local filesystem storage in a scratch directory under the var directory, where
  MEDIA_ROOT is by default; not /tmp, whose file creation is ten times slower here);
- *purge*: everything that removes rows: object permissions, inbox events, the instance rows
  and their children, the archive index rows, the signed checkpoint and the removal of the
  archived audit events, and the purge's own audit events.

Finally the whole chain is verified (``audit_verify``'s check), and the database dropped.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

from tests.benchmarks import audit_bench, history_bench, inbox_bench

INSTANCES = int(os.environ.get("BENCH_PURGE", "5000"))
EVENTS = int(os.environ.get("BENCH_PURGE_EVENTS", "10"))
BATCH = int(os.environ.get("BENCH_PURGE_BATCH", "500"))
GOAL_100K_SECONDS = 120.0


class _Phases:
    """Wall time and SQL statements of the archive and purge halves of every batch."""

    def __init__(self) -> None:
        self.seconds: Counter[str] = Counter()
        self.cpu: Counter[str] = Counter()  # this process's CPU time (all its threads)
        self.statements: Counter[str] = Counter()
        self.current = "other"

    def counter(self, execute, sql, params, many, context):
        self.statements[self.current] += 1
        return execute(sql, params, many, context)

    @contextmanager
    def phase(self, name: str):
        previous, self.current = self.current, name
        started, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - started
            self.cpu[name] += time.process_time() - cpu
            self.current = previous

    def wrap(self, module, attribute: str, name: str) -> None:
        original = getattr(module, attribute)

        def timed(*args, **kwargs):
            with self.phase(name):
                return original(*args, **kwargs)

        setattr(module, attribute, timed)


def _generate() -> dict:
    from django.contrib.auth.models import Group
    from django.db import connection

    from apps.audit.models import AuditChainHead
    from apps.audit.services import chain_link_pending
    from apps.common.actors import Actor
    from apps.engine.models import ProcessInstance
    from apps.processes.services import version_deploy

    version = version_deploy(xml=inbox_bench.PROCESS, actor=Actor.system("bench")).version
    requester = history_bench._users()[0]
    Group.objects.get_or_create(name="role1")
    started = time.perf_counter()
    history_bench._history(version.pk, requester.pk, instances=INSTANCES, events=False)
    rows = ProcessInstance.objects.filter(process_key="bench_history").values_list("pk", flat=True)
    first = min(rows)
    chain_link_pending()  # the deployment's events: the fill continues after them
    audit_bench.fill_chain_to(
        AuditChainHead.objects.get(pk=1).position + INSTANCES * EVENTS,
        instance_of=lambda n: first + n // EVENTS,
        process_key="bench_history",
    )
    with connection.cursor() as cursor:  # the fill chose the positions itself
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('audit_auditevent', 'position'), "
            "(SELECT max(position) FROM audit_auditevent))"
        )
        cursor.execute("ANALYZE")
    return {"seconds": time.perf_counter() - started, "instances": len(rows)}


def run(report_dir: Path | None = None) -> dict:
    from django.conf import settings
    from django.db import connections
    from django.test import override_settings
    from django.utils import timezone

    from apps.audit.verification import chain_verify
    from apps.common.actors import Actor
    from apps.retention import services

    database = audit_bench._ScratchDatabase(suffix="purge_bench", apps=())
    with database:
        generated = _generate()
        print(f"purge bench: generated {generated}", flush=True)
        services.retention_policy_set(
            process_key="bench_history", days=30, actor=Actor.system("bench")
        )
        phases = _Phases()
        phases.wrap(services, "_purge_batch", "batch")
        if hasattr(services, "_archive_batch"):
            phases.wrap(services, "_archive_batch", "archive")
        else:  # the code before the archive/purge split (a baseline run)
            phases.wrap(services, "archives_bytes", "archive")
            phases.wrap(services, "archive_write", "archive")
        connection = connections["default"]
        with (
            tempfile.TemporaryDirectory(dir=settings.VAR_DIR) as media,
            override_settings(MEDIA_ROOT=media),
            connection.execute_wrapper(phases.counter),
        ):
            started = time.perf_counter()
            result = services.retention_purge(
                now=timezone.now(), batch_size=BATCH, max_batches=INSTANCES // BATCH + 1
            )
            total = time.perf_counter() - started
        started = time.perf_counter()
        verified = chain_verify(anchor_file=Path(os.devnull))
        verify_seconds = time.perf_counter() - started
    purged = max(1, result["purged"])
    figures = {
        "purged": result["purged"],
        "batches": result["batches"],
        "total_seconds": total,
        "archive_ms": phases.seconds["archive"] * 1000 / purged,
        "purge_ms": (phases.seconds["batch"] - phases.seconds["archive"]) * 1000 / purged,
        "archive_cpu_ms": phases.cpu["archive"] * 1000 / purged,
        "purge_cpu_ms": (phases.cpu["batch"] - phases.cpu["archive"]) * 1000 / purged,
        # "batch": the purge's statements (and the batch's locking SELECT); "other": choosing
        # the candidates between batches
        "statements_per_batch": {
            k: v / max(1, result["batches"]) for k, v in phases.statements.items()
        },
        "load": os.getloadavg()[0],
        "verify_intact": verified.intact,
        "verify_seconds": verify_seconds,
        "verify_summary": verified.summary()[:200],
    }
    figures["purge_100k_s"] = figures["purge_ms"] * 100
    figures["archive_and_purge_100k_s"] = total * 100_000 / purged
    print(f"purge bench: {figures}", flush=True)
    return figures
