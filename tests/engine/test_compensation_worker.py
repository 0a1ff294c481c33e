"""A real Celery worker runs compensation: every saga's bookings are undone newest first, each
once, by jobs the worker takes like any other (decision 034)."""

from __future__ import annotations

import pytest

from apps.audit.actions import AuditAction
from apps.audit.models import AuditEvent
from apps.common.actors import Actor
from apps.engine import services
from apps.engine.models import InstanceStatus, Job, JobStatus, ProcessInstance
from apps.invariants.checks import run_checks
from portal.celery import app as celery_app
from tests.support.worker import WorkerProcess, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
SYSTEM = Actor.system("test")


@pytest.fixture
def fast_recovery(settings):
    settings.FLOWGATE_JOB_LEASE_SECONDS = 4
    settings.FLOWGATE_JOB_LOST_AFTER_SECONDS = 3
    settings.FLOWGATE_JOB_RETRY_BASE_SECONDS = 0.2
    settings.FLOWGATE_JOB_RETRY_MAX_SECONDS = 1
    celery_app.control.purge()


def test_a_real_worker_compensates_every_saga_newest_first_once(deploy, fast_recovery):
    version = deploy("echo_saga.bpmn")
    worker = WorkerProcess(concurrency=2, name="sagas").start()
    try:
        ids = [
            services.instance_start(version=version, variables={"n": n}, actor=SYSTEM).pk
            for n in range(1, 9)
        ]
        wait_until(
            lambda: (
                ProcessInstance.objects.filter(pk__in=ids, status=InstanceStatus.COMPLETED).count()
                == 8
            ),
            timeout=120,
            message="8 sagas to finish",
        )
    finally:
        worker.stop()
    for pk in ids:
        instance = ProcessInstance.objects.get(pk=pk)
        n = instance.variables["n"]
        assert (instance.variables["hotel_undone"], instance.variables["flight_undone"]) == (
            n,
            n * 10,
        )
        handlers = [
            data["activity_id"]
            for data in AuditEvent.objects.filter(
                instance_id=pk, action=AuditAction.COMPENSATION_HANDLER
            )
            .order_by("position")
            .values_list("data", flat=True)
        ]
        assert handlers == ["book_flight", "book_hotel"]
    jobs = Job.objects.filter(instance_id__in=ids)
    assert jobs.count() == 8 * 4
    assert set(jobs.values_list("status", flat=True)) == {JobStatus.DONE}
    report = run_checks(only=["compensated_once", "compensation_complete"])
    assert [str(v) for v in report.violations] == []
