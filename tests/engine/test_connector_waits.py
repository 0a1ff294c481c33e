"""A connector's wish for when to try again (``ConnectorError.retry_after``: a Retry-After, an
open circuit) holds on both run paths: a chained step's too, and a call that was not made
(``CircuitOpen``) spends no attempt there either."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.connectors.base import CircuitOpen, ConnectorError, TargetLimited
from apps.engine.models import Incident, Job, JobStatus
from tests.engine.conftest import run_jobs
from tests.engine.test_chain import _job, _sequence, _start

pytestmark = pytest.mark.django_db


def busy_for_20s(inputs, context):
    raise ConnectorError("the ledger says: come back in 20 s", retry_after=20)


def circuit_open(inputs, context):
    raise CircuitOpen("circuit open for host http://ledger:80 until later", retry_after=45)


@pytest.fixture(autouse=True)
def _waiting_connectors(local_connectors):
    local_connectors({"busy_for_20s": busy_for_20s, "circuit_open": circuit_open}, chainable=True)


def test_a_chained_step_waits_as_long_as_its_connector_asks():
    instance, _ = _start(_sequence(("s1", "busy_for_20s")))
    before = timezone.now()
    run_jobs(instance)
    job = _job(instance, "s1")
    assert (job.status, job.attempts) == (JobStatus.PENDING, 1)
    assert before + timedelta(seconds=20) <= job.run_after <= timezone.now() + timedelta(seconds=20)


def test_a_chained_step_held_back_by_a_circuit_spends_no_attempt():
    instance, _ = _start(_sequence(("s1", "circuit_open")))
    before = timezone.now()
    run_jobs(instance)
    job = _job(instance, "s1")
    assert (job.status, job.attempts) == (JobStatus.PENDING, 0)
    assert job.last_error.startswith("circuit open for host http://ledger:80")
    assert job.run_after >= before + timedelta(seconds=45)
    assert not Incident.objects.filter(instance=instance).exists()


def target_limited(inputs, context):
    raise TargetLimited("http://ledger:80 is at its concurrency limit (5 in flight)", retry_after=1)


def test_a_deferred_step_is_audited_as_a_wait_not_a_failure():
    # given a chained step whose target's circuit is open
    instance, _ = _start(_sequence(("s1", "circuit_open")))
    # when the worker runs it
    run_jobs(instance)
    # then it waits: a job.deferred event says why, no job.failed is written
    job = _job(instance, "s1")
    assert (job.attempts, job.deferrals) == (0, 1)
    actions = list(
        AuditEvent.objects.filter(job_id=job.pk)
        .order_by("position")
        .values_list("action", flat=True)
    )
    assert "job.failed" not in actions
    [deferred] = AuditEvent.objects.filter(job_id=job.pk, action="job.deferred")
    assert deferred.data["reason"] == "circuit_open"
    assert deferred.data["deferrals"] == 1
    assert deferred.data["retry_at"] == job.run_after.isoformat()
    assert deferred.data["message"].startswith("circuit open for host http://ledger:80")


def test_a_step_deferred_more_often_than_its_attempts_never_opens_an_incident(local_connectors):
    # given a step on the lease path whose target stays at its limit
    local_connectors({"target_limited": target_limited})
    instance, _ = _start(_sequence(("s1", "target_limited")))
    job = _job(instance, "s1")
    # when it is deferred more times than it has attempts
    for _ in range(job.max_attempts + 2):
        Job.objects.filter(pk=job.pk).update(run_after=timezone.now())
        run_jobs(instance)
    # then it is still waiting, every attempt intact, and nothing counts it as failed
    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.PENDING, 0)
    assert job.deferrals > job.max_attempts
    deferred = AuditEvent.objects.filter(job_id=job.pk, action="job.deferred")
    assert deferred.count() == job.deferrals
    assert not Incident.objects.filter(instance=instance).exists()
    assert not AuditEvent.objects.filter(job_id=job.pk, action="job.failed").exists()
    reasons = set(
        AuditEvent.objects.filter(job_id=job.pk, action="job.deferred").values_list(
            "data__reason", flat=True
        )
    )
    assert reasons == {"target_limit"}
