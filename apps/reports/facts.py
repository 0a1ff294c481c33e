# ruff: noqa: S608 - SQL text is built from constants only; every user value is a bound parameter
"""The fact tables of completed tasks (``TaskFact``) and finished jobs (``JobFact``), maintained
as they complete (decision 017).

- ``job_facts_sweep`` writes the facts of recently finished jobs in batches (beat, every few
  seconds): off the engine's hot path, at most one sweep interval behind.
- ``task_facts_record`` is an engine advance listener (``apps.engine.runtime.hooks``),
  registered by ``ReportsConfig.ready()``: every advance of an existing instance calls it inside
  the instance lock, after the inbox marked the task completed or the worker marked the job done,
  so the fact is written in the completion's transaction. It inserts the instance's completed
  tasks and finished jobs that have no fact yet: a second call (a retried or doubly delivered
  completion, a later step of the same instance) inserts nothing, and the one-row-per-task (job)
  unique key holds it in the database too.
- ``task_facts_sync`` inserts the facts missing for tasks completed since ``since`` (all time
  without it): the backfill (``manage.py report_facts_sync``, migration 0004) and the catch-up
  for rows written outside the services (imports, the demo history, the benchmark), run by the
  snapshot beat task.

Both are the same ``INSERT … SELECT`` from ``inbox_humantask`` (``engine_job``), so the figures
come from the very expressions the live queries use. ``ON CONFLICT DO NOTHING`` covers the one
race the instance lock does not: the beat's catch-up and an advance inserting the same fact of a
row written outside the services at the same moment.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from apps.common.actors import Actor
from apps.reports.business_facts import business_durations_fill, business_durations_for_instance
from apps.reports.sql import bucket_of, is_postgres, param, seconds_between

_CLAIMED = "COALESCE(t.claimed_at, t.completed_at)"


# The instance's columns: joined when syncing many instances; bound parameters for one instance
# (the listener's case: no join to plan on every engine advance).
_JOINED = (
    "i.version_id",
    "i.process_key",
    # a designer's test run has no facts (it is no business work)
    "JOIN engine_processinstance i ON i.id = {}.instance_id AND NOT i.is_test_run",
)
_BOUND = ("%s", "%s", "")

# Time spent waiting on the requester ("more information needed") is not the task's time: it
# comes off the duration, the working time (the asker holds the task, so a pause falls after the
# claim) and the due offset (the due date moved by the pause), so "completed after its due date"
# and "duration over the due offset" still agree. Wall-clock seconds (docs/reports.md).
_PAUSED = "COALESCE(t.paused_seconds, 0)"


def _less_paused(seconds: str) -> str:
    return f"(CASE WHEN {seconds} > {_PAUSED} THEN {seconds} - {_PAUSED} ELSE 0 END)"


def _insert_sql(where: str, instance=_JOINED) -> str:
    version, _, join = instance
    duration = _less_paused(seconds_between("t.created_at", "t.completed_at"))
    working = _less_paused(seconds_between(_CLAIMED, "t.completed_at"))
    # the due offset without the pause; NULL stays NULL (no due date)
    due = f"({seconds_between('t.created_at', 't.due_at')} - {_PAUSED})"
    return f"""
        INSERT INTO reports_taskfact (task_id, instance_id, version_id, process_key, activity_id,
            created_at, completed_at, duration, waiting, working, due_s, completed_by_id,
            duration_b, waiting_b, working_b)
        SELECT t.id, t.instance_id, {version}, t.process_key, t.activity_id,
               t.created_at, t.completed_at,
               {duration},
               {seconds_between("t.created_at", _CLAIMED)},
               {working},
               {due},
               t.completed_by_id,
               {bucket_of(duration)},
               {bucket_of(seconds_between("t.created_at", _CLAIMED))},
               {bucket_of(working)}
        FROM inbox_humantask t {join.format("t")}
        WHERE t.status = 'completed' AND t.completed_at IS NOT NULL AND {where}
          AND NOT EXISTS (SELECT 1 FROM reports_taskfact f WHERE f.task_id = t.id)
        ON CONFLICT (task_id) DO NOTHING"""


def _queued(insert: str, pending: str) -> str:
    """In PostgreSQL the facts' insert also queues them for the per-day bucket counts
    (``pending``: TaskFactPending / JobFactPending, decision 019), in the same statement.
    SQLite reads the facts directly."""
    if not is_postgres():
        return insert
    return (
        f"WITH inserted AS ({insert} RETURNING id, created_at)"
        f" INSERT INTO {pending} (fact_id, created_at) SELECT id, created_at FROM inserted"
    )


def _task_insert_sql(where: str, instance=_JOINED) -> str:
    return _queued(_insert_sql(where, instance), "reports_taskfactpending")


_STARTED = "COALESCE(j.started_at, j.finished_at)"
_BOOLS = [False, True]  # the values of ``started`` (bound: SQLite has no TRUE before 3.23)


def _job_insert_sql(where: str, instance=_JOINED) -> str:
    version, process_key, join = instance
    return f"""
        INSERT INTO reports_jobfact (job_id, connector, instance_id, version_id, process_key,
            activity_id, created_at, finished_at, duration, waiting, working, started,
            duration_b, waiting_b, working_b)
        SELECT j.id, j.connector, j.instance_id, {version}, {process_key}, j.activity_id,
               j.created_at, j.finished_at,
               {seconds_between("j.created_at", "j.finished_at")},
               {seconds_between("j.created_at", _STARTED)},
               {seconds_between(_STARTED, "j.finished_at")},
               CASE WHEN j.started_at IS NULL THEN %s ELSE %s END,
               {bucket_of(seconds_between("j.created_at", "j.finished_at"))},
               {bucket_of(seconds_between("j.created_at", _STARTED))},
               {bucket_of(seconds_between(_STARTED, "j.finished_at"))}
        FROM engine_job j {join.format("j")}
        WHERE j.status = 'done' AND j.finished_at IS NOT NULL AND {where}
          AND NOT EXISTS (SELECT 1 FROM reports_jobfact f WHERE f.job_id = j.id)
        ON CONFLICT (job_id) DO NOTHING"""


def _queued_job_insert_sql(where: str, instance=_JOINED) -> str:
    return _queued(_job_insert_sql(where, instance), "reports_jobfactpending")


def _execute(sql: str, params: Sequence[Any]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, [param(p) for p in params])
        return max(cursor.rowcount, 0)


def task_facts_for_instance(instance: Any, *, jobs: bool = True) -> int:
    """Insert the facts missing for ``instance``'s (a ProcessInstance) completed tasks and,
    unless ``jobs`` is false, its finished jobs; returns how many."""
    if instance.is_test_run:
        return 0
    pk, version_id, key = instance.pk, instance.version_id, instance.process_key
    written = _execute(_task_insert_sql("t.instance_id = %s", _BOUND), [version_id, pk])
    if written:
        business_durations_for_instance(pk)
    if jobs:
        written += _execute(
            _queued_job_insert_sql("j.instance_id = %s", _BOUND), [version_id, key, *_BOOLS, pk]
        )
    return written


def task_facts_record(
    *, instance: Any, now: datetime, actor: Actor, by_worker: bool = False, **_: Any
) -> None:
    """Advance listener: the facts of the tasks this advance completed (same transaction).

    A worker's advance completes no user task, only jobs, and job facts are written in batches
    by ``job_facts_sweep`` instead: one ``INSERT … SELECT`` per engine step cost the engine
    about a fifth of its throughput (decision 017). Requires: the instance row is locked (the
    engine calls it inside its lock)."""
    if not by_worker:
        task_facts_for_instance(instance, jobs=False)


def job_facts_sweep(*, now: datetime | None = None) -> int:
    """The facts of the jobs finished in the last ``FLOWGATE_REPORTS_JOB_FACTS_WINDOW_SECONDS``
    (default 300) that have none yet, in one statement (beat: every
    ``FLOWGATE_REPORTS_JOB_FACTS_EVERY_SECONDS``, default 10). The window outlasts several missed
    runs; the 48-hour catch-up of ``task_facts_catch_up`` covers longer gaps."""
    window = float(settings.FLOWGATE_REPORTS_JOB_FACTS_WINDOW_SECONDS)
    since = (now or timezone.now()) - timedelta(seconds=window)
    return _execute(_queued_job_insert_sql("j.finished_at >= %s"), [*_BOOLS, since])


def task_facts_backfill() -> int:
    """Every missing task fact (migration 0003)."""
    return _execute(_task_insert_sql("1 = 1"), [])


def job_facts_backfill() -> int:
    """Every missing job fact (migration 0005)."""
    return _execute(_queued_job_insert_sql("1 = 1"), _BOOLS)


def task_facts_sync(*, since: datetime | None = None) -> int:
    """Insert the facts missing for tasks completed and jobs finished at or after ``since``
    (all when None); returns how many."""
    if since is None:
        written = task_facts_backfill() + job_facts_backfill()
        business_durations_fill()
        return written
    written = _execute(_task_insert_sql("t.completed_at >= %s"), [since]) + _execute(
        _queued_job_insert_sql("j.finished_at >= %s"), [*_BOOLS, since]
    )
    # the business durations of facts written outside the services in the window, bounded (an
    # SLA switched to business time fills its history once: reports.business_durations_fill)
    business_durations_fill(since=since, batches=1)
    return written


def task_facts_catch_up(*, now: datetime | None = None) -> int:
    """The beat's catch-up: facts missing for tasks completed in the last
    ``FLOWGATE_REPORTS_FACTS_CATCH_UP_HOURS`` (default 48) hours."""
    hours = float(settings.FLOWGATE_REPORTS_FACTS_CATCH_UP_HOURS)
    return task_facts_sync(since=(now or timezone.now()) - timedelta(hours=hours))
