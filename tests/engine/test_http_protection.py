"""The HTTP connector protects and obeys the services it calls, end to end through the engine
and a real local server: a shared circuit breaker stops a retry storm against a failing target,
and ``Retry-After`` (seconds or HTTP-date) on 429/503 sets the next attempt's time."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import timedelta
from email.utils import format_datetime
from urllib.parse import quote

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.audit.models import AuditEvent
from apps.connectors.http import breaker
from apps.engine import services
from apps.engine.models import Incident, Job, JobStatus
from apps.engine.runtime.incidents import deferral_bound_message
from tests.engine.conftest import run_jobs
from tests.engine.test_http_task import SYSTEM, api_server, start  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db


@pytest.fixture
def circuit(api_server, settings):  # noqa: F811
    settings.FLOWGATE_HTTP_BREAKER_FAILURES = 5
    settings.FLOWGATE_HTTP_BREAKER_COOLDOWN_SECONDS = 30.0
    key = f"http://127.0.0.1:{api_server.port}"
    yield key
    breaker.circuit_reset(key)


def run_all(instances) -> None:
    for instance in instances:
        run_jobs(instance)


def test_ten_instances_against_an_always_503_service_stop_calling_it(
    api_server,  # noqa: F811
    circuit,
    make_user,
):  # noqa: F811
    # the worst case for a retry storm: the server asks for no pause (Retry-After: 0) and the
    # backoff base is 0, so without a breaker 10 instances x 3 attempts = 30 calls at once
    instances = [start(api_server, "'/status/503?retry_after=0'") for _ in range(10)]
    before = time.time()
    run_all(instances)

    assert len(api_server.recorder.requests) == 5  # the threshold; then the circuit opened
    jobs = list(Job.objects.filter(instance__in=instances).order_by("instance_id"))
    # only the 5 calls made spent attempts; the steps that met the open circuit wait for it
    # without having spent one, and without an incident
    assert sum(job.attempts for job in jobs) == 5
    exhausted = [job for job in jobs if job.attempts == job.max_attempts]
    assert [job.status for job in exhausted] == [JobStatus.INCIDENT] * len(exhausted)
    assert Incident.objects.filter(instance__in=instances).count() == len(exhausted)
    held = [job for job in jobs if job not in exhausted]
    assert len(held) >= 8
    assert {job.status for job in held} == {JobStatus.PENDING}
    for job in held:
        assert job.last_error.startswith(f"circuit open for host {circuit} until ")
        assert job.run_after.timestamp() >= before + 29  # waits for the cool-down

    # an operator sees why a step waits, in the API and on the console page
    waiting = held[-1]
    admin = APIClient()
    admin.force_login(make_user("admin", username="ops"))
    [job_row] = admin.get(f"/api/v1/instances/{waiting.instance_id}/").json()["activity"]["jobs"]
    assert job_row["last_error"] == waiting.last_error
    assert job_row["last_error"].startswith(f"circuit open for host {circuit} until ")
    page = admin.get(f"/admin-reports/instances/{waiting.instance_id}/").content.decode()
    assert f"circuit open for host {circuit} until " in page

    # the cool-down passes (moved, not slept): exactly one call, the probe, decides; it fails
    # and the circuit opens again
    breaker.store().update(circuit, lambda state: (None, replace(state, open_until=time.time())))
    Job.objects.filter(instance__in=instances).update(run_after=timezone.now())
    run_all(instances)
    assert len(api_server.recorder.requests) == 6
    assert breaker.circuits()[circuit].state == breaker.OPEN


def test_a_429_with_retry_after_6_is_retried_no_earlier_than_6_seconds(api_server, circuit):  # noqa: F811
    instance = start(api_server, "'/status/429?retry_after=6'")
    before = timezone.now()
    run_jobs(instance)
    after = timezone.now()
    job = instance.jobs.get()
    # throttled, not failed: the attempt is given back (decision 039)
    assert (job.status, job.attempts, job.deferrals) == (JobStatus.PENDING, 0, 1)
    assert before + timedelta(seconds=6) <= job.run_after <= after + timedelta(seconds=6)
    assert "(Retry-After: 6)" in job.last_error
    assert len(api_server.recorder.requests) == 1
    [event] = AuditEvent.objects.filter(job_id=job.pk, action__in=["job.failed", "job.deferred"])
    assert (event.action, event.data["reason"]) == ("job.deferred", "retry_after")
    assert not Incident.objects.filter(instance=instance).exists()


def _wait_is_over(job: Job) -> None:
    """Move the step's next attempt to now (its Retry-After was obeyed in the test above)."""
    Job.objects.filter(pk=job.pk).update(run_after=timezone.now())


def test_a_target_that_only_answers_429_is_waited_on_for_a_bounded_time(  # noqa: F811
    api_server,  # noqa: F811
    circuit,
    settings,
):
    settings.FLOWGATE_JOB_MAX_DEFER_SECONDS = 10
    instance = start(api_server, "'/status/429?retry_after=6'")
    run_jobs(instance)
    job = instance.jobs.get()
    assert (job.status, job.deferrals, job.deferred_seconds) == (JobStatus.PENDING, 1, 6.0)

    # the second 429 asks for 6 s more: 12 s in all would pass the 10 s bound
    _wait_is_over(job)
    run_jobs(instance)
    job.refresh_from_db()
    assert len(api_server.recorder.requests) == 2
    assert (job.status, job.attempts, job.deferrals, job.deferred_seconds) == (
        JobStatus.INCIDENT,
        0,  # a 429 spends no attempt, the last one neither
        1,
        6.0,
    )
    incident = Incident.objects.get(instance=instance)
    assert incident.message.startswith(
        "Gave up waiting: the target kept answering 429 Too Many Requests with a Retry-After. "
        "The step already waited 6 s over 1 deferrals and the next wait (6 s) would pass the "
        "limit of 10 s (FLOWGATE_JOB_MAX_DEFER_SECONDS). Retry this incident when the target "
        "accepts calls again (the wait starts over), or ask its owner for more quota. "
        "Last answer: "
    )
    assert "429" in incident.message
    [failed] = AuditEvent.objects.filter(job_id=job.pk, action="job.failed")
    assert (failed.data["permanent"], failed.data["will_retry"]) == (True, False)

    # an operator's retry starts the wait over
    services.incident_retry(incident_id=incident.pk, actor=SYSTEM)
    job.refresh_from_db()
    assert (job.status, job.deferred_seconds) == (JobStatus.PENDING, 0.0)
    run_jobs(instance)
    job.refresh_from_db()
    assert (job.status, job.deferred_seconds, len(api_server.recorder.requests)) == (
        JobStatus.PENDING,
        6.0,
        3,
    )

    # 0 means no bound: the step waits on
    settings.FLOWGATE_JOB_MAX_DEFER_SECONDS = 0
    _wait_is_over(job)
    run_jobs(instance)
    job.refresh_from_db()
    assert (job.status, job.deferred_seconds) == (JobStatus.PENDING, 12.0)


def test_only_waits_the_target_imposes_are_bounded(settings):
    settings.FLOWGATE_JOB_MAX_DEFER_SECONDS = 10
    long_waiter = Job(deferred_seconds=9.0, deferrals=9)
    # our own concurrency/rate limit: the wait ends when other calls finish
    assert deferral_bound_message(long_waiter, reason="target_limit", delay=5) == ""
    assert deferral_bound_message(long_waiter, reason="retry_after", delay=1) == ""
    assert deferral_bound_message(long_waiter, reason="circuit_open", delay=5).startswith(
        "Gave up waiting: the target's circuit stayed open (its calls kept failing)."
    )


def test_a_503_with_an_http_date_retry_after_waits_until_that_date(api_server, circuit):  # noqa: F811
    when = (timezone.now() + timedelta(seconds=40)).replace(microsecond=0)
    instance = start(
        api_server, f"'/status/503?retry_after={quote(format_datetime(when, usegmt=True))}'"
    )
    run_jobs(instance)
    job = instance.jobs.get()
    assert job.status == JobStatus.PENDING
    assert abs((job.run_after - when).total_seconds()) < 1.0


def test_retry_after_is_capped_by_the_longest_retry_delay(api_server, circuit, settings):  # noqa: F811
    settings.FLOWGATE_JOB_RETRY_MAX_SECONDS = 60
    instance = start(api_server, "'/status/503?retry_after=86400'")
    before = timezone.now()
    run_jobs(instance)
    job = instance.jobs.get()
    assert before + timedelta(seconds=60) <= job.run_after <= timezone.now() + timedelta(seconds=60)
