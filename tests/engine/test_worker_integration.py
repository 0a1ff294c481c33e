"""A real Celery worker against real PostgreSQL and Redis: nothing lost, nothing doubled."""

from __future__ import annotations

import pytest

from apps.audit.services import Actor
from apps.engine import services
from apps.engine.models import InstanceStatus, Job, JobStatus, ProcessInstance
from tests.support import connectors as recorder
from tests.support.worker import WorkerProcess, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
SYSTEM = Actor.system("test")


@pytest.fixture
def fast_recovery(settings):
    settings.FLOWGATE_JOB_LEASE_SECONDS = 4
    settings.FLOWGATE_JOB_LOST_AFTER_SECONDS = 3
    settings.FLOWGATE_JOB_RETRY_BASE_SECONDS = 0.2
    settings.FLOWGATE_JOB_RETRY_MAX_SECONDS = 1
    from portal.celery import app

    app.control.purge()
    recorder.reset()
    yield


def _completed(ids) -> int:
    return ProcessInstance.objects.filter(pk__in=ids, status=InstanceStatus.COMPLETED).count()


def test_a_real_worker_runs_automatic_instances_to_completion(deploy, fast_recovery):
    version = deploy("bench_auto.bpmn")
    worker = WorkerProcess(concurrency=2, name="basic").start()
    try:
        ids = [
            services.instance_start(version=version, variables={"n": n}, actor=SYSTEM).pk
            for n in range(30)
        ]
        wait_until(lambda: _completed(ids) == 30, timeout=90, message="30 instances to complete")
    finally:
        worker.stop()
    jobs = Job.objects.filter(instance_id__in=ids)
    assert jobs.count() == 90
    assert set(jobs.values_list("status", flat=True)) == {JobStatus.DONE}
    assert ProcessInstance.objects.get(pk=ids[5]).variables["prepared"] == 5


def test_worker_killed_with_sigkill_mid_run_loses_and_doubles_nothing(deploy, fast_recovery):
    version = deploy("two_calls.bpmn")
    first = WorkerProcess(concurrency=2, name="doomed").start()
    ids = [
        services.instance_start(version=version, variables={"sleep": 0.02}, actor=SYSTEM).pk
        for n in range(200)
    ]
    try:
        wait_until(
            lambda: Job.objects.filter(instance_id__in=ids, status=JobStatus.DONE).count() >= 60,
            timeout=120,
            message="some jobs done before the crash",
        )
    finally:
        first.kill()
    second = WorkerProcess(concurrency=2, name="survivor").start()
    try:

        def settled():
            services.jobs_sweep()  # what beat does every few seconds
            return _completed(ids) == 200

        wait_until(settled, timeout=180, interval=1.0, message="all 200 instances after the crash")
    finally:
        second.stop()
    jobs = Job.objects.filter(instance_id__in=ids)
    # Exactly one activation row per (instance, activity), each applied once.
    assert jobs.count() == 400
    assert set(jobs.values_list("status", flat=True)) == {JobStatus.DONE}
    for instance in ProcessInstance.objects.filter(pk__in=ids):
        assert (instance.variables["first_done"], instance.variables["second_done"]) == (True, True)
    # The connector may see a key again after the crash, never a different key for an activation.
    expected_keys = {job.idempotency_key for job in jobs}
    seen_keys = {call["key"] for call in recorder.calls()}
    assert seen_keys == expected_keys
