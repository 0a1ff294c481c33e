"""A step over its target's concurrency or rate limit does not call: it waits, re-scheduled
shortly without spending an attempt, with a last_error that says why, exactly like a step held by
an open circuit (decision 029). Through the engine and a real local server."""

from __future__ import annotations

import time

import pytest
from django.utils import timezone

from apps.connectors.http import limits
from apps.engine.models import Incident, InstanceStatus, Job, JobStatus
from tests.engine.conftest import run_jobs
from tests.engine.test_http_task import api_server, start  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db


@pytest.fixture
def target(api_server, settings):  # noqa: F811
    key = f"http://127.0.0.1:{api_server.port}"
    yield key
    limits.limits_reset(key)


def test_a_step_over_the_concurrency_limit_waits_without_spending_an_attempt(
    api_server,  # noqa: F811
    target,
    settings,
):
    settings.FLOWGATE_HTTP_LIMIT_TARGETS = {target: {"concurrency": 1}}
    busy = limits.acquire(target, lease_seconds=60)  # another worker's call in flight
    instance = start(api_server, "'/ok'")
    before = time.time()
    run_jobs(instance)

    job = instance.jobs.get()
    assert (job.status, job.attempts) == (JobStatus.PENDING, 0)
    assert job.last_error.startswith(
        f"concurrency limit for {target}: at most 1 calls at once; next try at "
    )
    assert before + 0.5 <= job.run_after.timestamp() <= time.time() + 1.0  # shortly
    assert api_server.recorder.requests == []
    assert not Incident.objects.filter(instance=instance).exists()

    # the other call ends: the step runs on its next turn, with its attempts intact
    limits.release_slot(target, busy)
    Job.objects.filter(pk=job.pk).update(run_after=timezone.now())
    run_jobs(instance)
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.COMPLETED
    assert len(api_server.recorder.requests) == 1


def test_steps_over_the_rate_limit_wait_for_the_next_window(api_server, target, settings):  # noqa: F811
    settings.FLOWGATE_HTTP_LIMIT_TARGETS = {target: {"rate": 2, "period": 60}}
    instances = [start(api_server, "'/ok'") for _ in range(3)]
    for instance in instances:
        run_jobs(instance)

    assert len(api_server.recorder.requests) == 2
    [waiting] = Job.objects.filter(instance__in=instances, status=JobStatus.PENDING)
    assert waiting.attempts == 0
    assert waiting.last_error.startswith(
        f"rate limit for {target}: at most 2 calls per 60 seconds; next try at "
    )
    # the next window opens when the first call's start leaves it, about a minute on
    assert waiting.run_after.timestamp() >= api_server.recorder.requests[0].at + 59
