"""Thin Celery tasks: take ids, call one service. All are safe to run twice."""

from __future__ import annotations

import os
import socket

from celery import shared_task

from apps.engine import doorbell, operator_services, services


@shared_task(
    name="engine.answer_doorbell", acks_late=True, reject_on_worker_lost=True, ignore_result=True
)
def answer_doorbell(job_id: int, instance_id: int | None = None) -> int:
    """The doorbell rang for job ``job_id``: run it (``services.job_run``). Named ``run_job``
    (``engine.run_job``) before decision 040; a message of that name left in the broker at an
    upgrade is refused as unregistered, and the sweeper sends the job's doorbell again."""
    return services.job_run(
        job_id=job_id, instance_id=instance_id, worker_id=f"{socket.gethostname()}:{os.getpid()}"
    )


def announce_job(job_id: int, instance_id: int) -> None:
    """The receiver of the engine's doorbell (``job_announced``): a message for a worker.
    Connected in ``EngineConfig.ready()``. On Redis, one LPUSH of Celery's own message
    (``apps.engine.doorbell``, decision 044)."""
    doorbell.ring(answer_doorbell.app, answer_doorbell, job_id, instance_id)


@shared_task(name="engine.sweep_jobs", ignore_result=True)
def sweep_jobs() -> dict:
    return services.jobs_sweep()


@shared_task(name="engine.fire_timers", ignore_result=True)
def fire_timers() -> int:
    return services.timers_fire_due() + services.start_schedules_fire_due()


@shared_task(
    name="engine.run_migration", acks_late=True, reject_on_worker_lost=True, ignore_result=True
)
def run_migration(run_id: int) -> int:
    """A batch migration; resumes where it stopped when run twice."""
    return operator_services.migration_run_execute(run_id=run_id).done


@shared_task(name="engine.sweep_migrations", ignore_result=True)
def sweep_migrations() -> int:
    return operator_services.migration_runs_sweep()


def announce_migration_run(run_id: int) -> None:
    """The receiver of ``migration_run_announced``: a message for a worker. Connected in
    ``EngineConfig.ready()``."""
    run_migration.delay(run_id)
