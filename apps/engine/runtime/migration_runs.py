"""Batch migrations run by a worker, with progress and a final report (issue #21).

``migration_run_start`` checks the request (versions, mapping, the instances and their bound),
stores the run and rings for a worker after commit; ``migration_run_execute`` (the Celery task
``engine.run_migration``) moves each instance in its own transaction (``migration.batch_item``)
and records the counts every quarter second (the growing report at most once a second), so the page
and the API show progress.
Running it twice resumes: instances already in the report are skipped. A run whose message was
lost (Redis is a doorbell) is rung again by ``migration_runs_sweep`` (beat, every 30 s).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import Q
from django.utils import timezone

from apps.common.actors import Actor
from apps.common.errors import NotFound
from apps.engine.models import MigrationRun, MigrationRunStatus, ProcessInstance
from apps.engine.runtime.hooks import migration_run_announced
from apps.engine.runtime.migration import batch_instances, batch_item, check_mapping, target_version


def migration_run_start(
    *,
    process_key: str,
    from_version: int,
    to_version: int,
    instance_ids: Iterable[int] | None = None,
    mapping: Any = None,
    user: Any = None,
) -> MigrationRun:
    """Queue a batch migration (the same checks as a batch in the request); a worker runs it."""
    mapping = check_mapping(mapping)
    _, ids = batch_instances(
        process_key=process_key,
        from_version=from_version,
        to_version=to_version,
        instance_ids=instance_ids,
    )
    with transaction.atomic():
        run = MigrationRun.objects.create(
            process_key=process_key,
            from_version=from_version,
            to_version=to_version,
            mapping=mapping,
            instance_ids=ids,
            total=len(ids),
            created_by=user if getattr(user, "is_authenticated", False) else None,
        )
        transaction.on_commit(lambda: migration_run_announced.send(run.pk))
    return run


def migration_run_get(*, run_id: int) -> MigrationRun:
    run = MigrationRun.objects.filter(pk=run_id).select_related("created_by").first()
    if run is None:
        raise NotFound(f"Migration run {run_id} does not exist.")
    return run


#: The report (it grows with the batch) is written at most this often while the run goes on.
REPORT_EVERY_SECONDS = 1.0
#: The counts (the progress bar) and the lease, at most this often: a write per move was one
#: more round trip and commit each (a resumed run finds the moves after the last write:
#: ``_moved_before``).
PROGRESS_EVERY_SECONDS = 0.25
#: How long a worker holds a run without reporting progress before another may take it over.
RUN_LEASE = timedelta(minutes=5)


def _claim(run_id: int) -> bool:
    """Take (or renew) the run's lease for this worker: one conditional UPDATE, so two
    deliveries of the same run never move instances side by side. The status moves along
    ``MIGRATION_RUN_TRANSITIONS`` (queued -> running) in the same UPDATE."""
    now = timezone.now()
    free = Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now)
    return bool(
        MigrationRun.objects.filter(pk=run_id, status=MigrationRunStatus.QUEUED)
        .filter(free)
        .update(status=MigrationRunStatus.RUNNING, lease_expires_at=now + RUN_LEASE)
        or MigrationRun.objects.filter(pk=run_id, status=MigrationRunStatus.RUNNING)
        .filter(free)
        .update(lease_expires_at=now + RUN_LEASE)
    )


def migration_run_execute(*, run_id: int) -> MigrationRun:
    """Move the run's instances not yet in its report, one transaction each, recording each
    report and the counts as it goes; finish the run. Safe to run twice: a second delivery
    while the first holds the lease does nothing; after a lost worker it resumes."""
    run = migration_run_get(run_id=run_id)
    if run.status == MigrationRunStatus.FINISHED or not _claim(run_id):
        return run
    run.refresh_from_db()
    actor = Actor.for_user(run.created_by) if run.created_by else Actor.system("migration")
    to = target_version(process_key=run.process_key, number=run.to_version)
    seen = {r["instance_id"] for r in run.report}
    saved_at = progress_at = time.monotonic()
    todo = [i for i in run.instance_ids if i not in seen]
    for report in _moves(todo, to, run.mapping, actor=actor, from_version=run.from_version):
        run.report.append(_moved_before(report, run))
        run.done = len(run.report)
        run.moved += 1 if run.report[-1]["moved"] else 0
        run.refused += 0 if run.report[-1]["moved"] else 1
        if time.monotonic() - progress_at < PROGRESS_EVERY_SECONDS:
            continue
        run.lease_expires_at = timezone.now() + RUN_LEASE
        fields = ["done", "moved", "refused", "lease_expires_at"]
        if time.monotonic() - saved_at >= REPORT_EVERY_SECONDS:
            # The report grows with the batch: written once a second, not after every move.
            fields.append("report")
            saved_at = time.monotonic()
        run.save(update_fields=fields)
        progress_at = time.monotonic()
    order = {instance_id: n for n, instance_id in enumerate(run.instance_ids)}
    run.report.sort(key=lambda r: order.get(r["instance_id"], len(order)))
    run.transition_to(MigrationRunStatus.FINISHED)
    run.finished_at = timezone.now()
    run.lease_expires_at = None
    run.save(
        update_fields=[
            "status",
            "finished_at",
            "lease_expires_at",
            "report",
            "done",
            "moved",
            "refused",
        ]
    )
    return run


def _moves(
    ids: list[int], to: Any, mapping: dict, *, actor: Actor, from_version: int
) -> Iterator[dict[str, Any]]:
    """Each instance's report as its move finishes. On PostgreSQL ``FLOWGATE_MIGRATION_THREADS``
    threads move instances side by side, each in its own transaction on its own connection: a
    move is mostly waiting for the database (about 20 round trips), so they overlap. The
    instance locks keep two moves of one instance apart; the order of the reports is the
    order they finish in."""
    numbers: dict[int, int] = {}  # version id -> number, shared (a number never changes)

    def move(instance_id: int) -> dict[str, Any]:
        return batch_item(
            instance_id,
            to,
            mapping,
            actor=actor,
            dry_run=False,
            from_version=from_version,
            numbers=numbers,
        )

    threads = max(1, min(int(settings.FLOWGATE_MIGRATION_THREADS), len(ids)))
    if threads == 1 or connection.vendor != "postgresql" or connection.in_atomic_block:
        for instance_id in ids:
            yield move(instance_id)
        return
    pending: queue.SimpleQueue[int | None] = queue.SimpleQueue()
    results: queue.SimpleQueue[tuple[dict[str, Any] | None, BaseException | None]] = (
        queue.SimpleQueue()
    )
    for instance_id in ids:
        pending.put(instance_id)

    def work() -> None:
        try:
            while (instance_id := pending.get()) is not None:
                try:
                    results.put((move(instance_id), None))
                except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                    results.put((None, exc))
        finally:
            connections.close_all()  # this thread's own connection

    workers = [threading.Thread(target=work, daemon=True) for _ in range(threads)]
    for _ in workers:
        pending.put(None)
    for worker in workers:
        worker.start()
    try:
        for _ in ids:
            report, error = results.get()
            if report is None:
                raise error if error is not None else RuntimeError("a move gave no report")
            yield report
    finally:
        while True:  # an error: the workers stop after their current move
            try:
                pending.get_nowait()
            except queue.Empty:
                break
        for _ in workers:
            pending.put(None)
        for worker in workers:
            worker.join()


def _moved_before(report: dict[str, Any], run: MigrationRun) -> dict[str, Any]:
    """An instance a dead worker moved after its last report write is on the to-version now:
    the resumed run reports it as moved, not as refused."""
    codes = [p["code"] for p in report["problems"]]
    if codes != ["other_version"] or report["moved"]:
        return report
    instance = ProcessInstance.objects.filter(pk=report["instance_id"]).only("version").first()
    if instance is None or instance.version.number != run.to_version:
        return report
    return {**report, "can_move": True, "moved": True, "problems": []}


#: A queued run no worker has taken after this long is announced again.
STALE_QUEUED = timedelta(seconds=60)


def migration_runs_sweep(*, now: datetime | None = None) -> int:
    """Ring again for runs still queued after ``STALE_QUEUED`` (their message was lost) and for
    running ones whose worker's lease expired (it died). Returns how many."""
    now = now or timezone.now()
    ids = list(
        MigrationRun.objects.filter(
            Q(status=MigrationRunStatus.QUEUED, created_at__lt=now - STALE_QUEUED)
            | Q(status=MigrationRunStatus.RUNNING, lease_expires_at__lt=now)
        ).values_list("pk", flat=True)
    )
    for run_id in ids:
        migration_run_announced.send(run_id)
    return len(ids)
