"""Cost per process (decision 039): steps, connector calls and worker seconds per process and
period, in total and per completed instance; the selector, the API and the SLA page."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.connectors.http import breaker
from apps.engine.models import JobStatus, ProcessInstance
from apps.reports.selectors.common import Period
from apps.reports.selectors.costs import process_costs
from tests.engine.conftest import run_jobs
from tests.engine.test_http_task import api_server, start  # noqa: F401 - the fixture
from tests.reports import dataset as ds

pytestmark = pytest.mark.django_db
S = ds.seconds


@pytest.fixture
def story():
    day = ds.fixed_now() - S(86400 * 2)
    done = ds.instance("orders", created=day, ended=day + S(60))
    ds.job(done, "book", created=day, started=day + S(1), finished=day + S(3), attempts=1)
    # two failed attempts before the finishing one: 1.25 s of worker time the fact does not hold
    ds.job(
        done,
        "mail",
        created=day,
        started=day + S(5),
        finished=day + S(5.5),
        attempts=3,
        failed_attempts_seconds=1.25,
    )
    running = ds.instance("orders", created=day)
    ds.job(
        running,
        "book",
        created=day,
        status=JobStatus.PENDING,
        attempts=0,
        deferrals=4,
        failed_attempts_seconds=0.5,
    )
    other = ds.instance("refunds", created=day, ended=day + S(10))
    ds.job(other, "pay", created=day, started=day + S(1), finished=day + S(11), attempts=2)
    # a designer's test run costs nothing here
    test_run = ds.instance("orders", created=day, ended=day + S(5))
    ProcessInstance.objects.filter(pk=test_run.pk).update(is_test_run=True)
    ds.job(test_run, "book", created=day, started=day, finished=day + S(100), attempts=9)
    # outside the period
    old = ds.instance("orders", created=day - S(86400 * 60), ended=day - S(86400 * 59))
    ds.job(old, "book", created=old.created_at, started=old.created_at, finished=old.created_at)
    return Period(since=day - S(3600), until=ds.fixed_now())


def test_costs_per_process_in_total_and_per_completed_instance(story):
    assert process_costs(period=story) == [
        {
            "process_key": "orders",
            "steps": 3,
            "finished_steps": 2,
            "connector_calls": 4,
            "deferred_calls": 4,
            "worker_seconds": 4.25,  # 2 + 0.5 finishing, 1.25 failed, 0.5 deferred
            "lost_worker_seconds": 0.0,
            "completed_instances": 1,
            "steps_per_instance": 3.0,
            "calls_per_instance": 4.0,
            "worker_seconds_per_instance": 4.25,
            # state "{}" + variables "{}" + two steps' inputs "{}": measured live (no refresh yet)
            "stored_bytes": 8,
            "measured_instances": 1,
            "stored_bytes_per_instance": 8.0,
        },
        {
            "process_key": "refunds",
            "steps": 1,
            "finished_steps": 1,
            "connector_calls": 2,
            "deferred_calls": 0,
            "worker_seconds": 10.0,
            "lost_worker_seconds": 0.0,
            "completed_instances": 1,
            "steps_per_instance": 1.0,
            "calls_per_instance": 2.0,
            "worker_seconds_per_instance": 10.0,
            "stored_bytes": 6,
            "measured_instances": 1,
            "stored_bytes_per_instance": 6.0,
        },
    ]
    [refunds] = process_costs(period=story, process_key="refunds")
    assert refunds["process_key"] == "refunds"


def test_every_attempt_counts_in_the_worker_seconds_not_only_the_last(api_server):  # noqa: F811
    # a real step (2 attempts) against a local server that answers 503 after 0.2 s (no backoff)
    instance = start(api_server, "'/status/503?retry_after=0&amp;delay=0.2'")
    try:
        run_jobs(instance)
    finally:
        breaker.circuit_reset(f"http://127.0.0.1:{api_server.port}")
    job = instance.jobs.get()
    assert (job.status, job.attempts) == (JobStatus.INCIDENT, 2)
    assert len(api_server.recorder.requests) == 2
    # each attempt's start -> end: the last one's started_at alone would time one of them
    assert 0.4 <= job.failed_attempts_seconds < 3.0
    [row] = process_costs(
        period=Period(since=job.created_at - S(1), until=ds.fixed_now() + S(3600)),
        process_key=instance.process_key,
    )
    assert row["worker_seconds"] == round(job.failed_attempts_seconds, 3)
    assert (row["steps"], row["connector_calls"], row["finished_steps"]) == (1, 2, 0)


def test_the_api_and_the_sla_page_show_the_costs(story, make_user, client):
    api = APIClient()
    api.force_login(make_user("manager", username="mgr"))
    since, until = story.since.isoformat(), story.until.isoformat()
    response = api.get("/api/v1/reports/costs/", {"since": since, "until": until})
    assert response.status_code == 200
    body = response.json()
    assert [p["process_key"] for p in body["processes"]] == ["orders", "refunds"]
    assert body["processes"][0]["connector_calls"] == 4
    bad = api.get("/api/v1/reports/costs/", {"since": "yesterday"})
    assert bad.status_code == 400
    assert "since must be a date" in bad.content.decode()

    client.force_login(make_user("manager", username="mgr2"))
    page = client.get("/admin-reports/sla/", {"since": since, "until": until}).content.decode()
    assert 'data-testid="process-costs"' in page
    assert '<tr data-cost-process="refunds">' in page


def test_only_report_roles_may_read_the_costs(make_user, story):
    assert APIClient().get("/api/v1/reports/costs/").status_code in (401, 403)
    api = APIClient()
    api.force_login(make_user("approver", username="appr"))
    assert api.get("/api/v1/reports/costs/").status_code == 403
