"""The instance timeline (issue 23): the selector's segments, the page and the API, with access
per role."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.audit.actions import AuditAction
from apps.audit.services import audit_event, record_many
from apps.common.actors import Actor
from apps.engine import services as engine_services
from apps.engine.models import Incident, Job, JobStatus, Timer
from apps.reports.selectors.timeline import instance_timeline
from tests.api.helpers import assert_error
from tests.api.test_engine_api import client_for
from tests.engine.conftest import local_connectors, run_jobs  # noqa: F401 - shared fixture
from tests.engine.test_services import _deploy_xml, _single_service_process, unit_flaky
from tests.reports import dataset as ds

pytestmark = pytest.mark.django_db
S = ds.seconds


@pytest.fixture
def story(make_user):
    """An instance started 100 s ago: a quick step, a step that failed twice, was retried and
    failed into an incident that is still open, a person who took a minute, a timer that fired."""
    t0 = ds.fixed_now() - timedelta(seconds=100)
    inst = ds.instance("exp", created=t0, business_key="story")
    ds.job(inst, "fetch", created=t0, started=t0 + S(2), finished=t0 + S(5))
    book = ds.job(
        inst,
        "book",
        created=t0 + S(5),
        started=t0 + S(15),
        finished=t0 + S(16),
        status=JobStatus.INCIDENT,
        attempts=3,
    )
    Job.objects.filter(pk=book.pk).update(last_error="HTTP 503 from ledger")
    _failed(book, at=t0 + S(7), retry_at=t0 + S(9), attempt=1)
    _failed(book, at=t0 + S(11), retry_at=t0 + S(13), attempt=2)
    incident = ds.incident(inst, "book", job_row=book, message="HTTP 503 from ledger")
    Incident.objects.filter(pk=incident.pk).update(created_at=t0 + S(16))
    ann = make_user("approver", username="ann")
    ds.task(inst, "approve", created=t0 + S(20), completed=t0 + S(80), completed_by=ann)
    Timer.objects.create(
        instance=inst, task_id="tm1", activity_id="wait", due_at=t0 + S(30), fired_at=t0 + S(30)
    )
    received = audit_event(
        AuditAction.MESSAGE_CORRELATED,
        instance=inst,
        actor=Actor.system("api"),
        data={"message": "payment", "correlation_key": "o-1", "variables": {}},
    )
    received.time = t0 + S(50)
    record_many([received])
    return {"instance": inst, "t0": t0, "now": t0 + S(100), "incident": incident}


def _failed(job: Job, *, at, retry_at, attempt: int, spent: bool = True) -> None:
    """The audit event the engine writes when an attempt fails and will be retried."""
    event = audit_event(
        AuditAction.JOB_FAILED,
        instance=job.instance,
        actor=Actor.system("worker"),
        job_id=job.pk,
        data={
            "activity_id": job.activity_id,
            "attempt": attempt,
            "message": "HTTP 503 from ledger",
            "will_retry": True,
            "attempt_spent": spent,
            "retry_at": retry_at.isoformat(),
        },
    )
    event.time = at
    record_many([event])


def _segments(timeline):
    return [
        (row.kind, row.activity_id, s.kind, s.offset_pct, s.width_pct, s.text)
        for row in timeline.rows
        for s in row.segments
    ]


def test_timeline_puts_each_wait_and_work_on_the_instance_axis(story, django_assert_num_queries):
    with django_assert_num_queries(5):
        timeline = instance_timeline(instance=story["instance"], now=story["now"])
    assert timeline.seconds == 100.0
    assert timeline.ongoing is True
    assert _segments(timeline) == [
        ("job", "fetch", "queue", 0.0, 2.0, "waited in the queue 2 s"),
        ("job", "fetch", "work", 2.0, 3.0, "worked 3 s"),
        ("job", "book", "attempt", 5.0, 2.0, "attempt 1 failed after 2 s (queue and work)"),
        ("job", "book", "retry", 7.0, 2.0, "waited 2 s to retry"),
        ("job", "book", "attempt", 9.0, 2.0, "attempt 2 failed after 2 s (queue and work)"),
        ("job", "book", "retry", 11.0, 2.0, "waited 2 s to retry"),
        ("job", "book", "queue", 13.0, 2.0, "waited in the queue 2 s"),
        ("job", "book", "work", 15.0, 1.0, "worked 1 s"),
        ("incident", "book", "incident", 16.0, 84.0, "incident open 1 min 24 s (still going on)"),
        ("task", "approve", "person", 20.0, 60.0, "waited for a person 1 min 0 s"),
        (
            "timer",
            "wait",
            "timer",
            30.0,
            0.5,
            f"timer fired at {timezone.localtime(story['t0'] + S(30)):%Y-%m-%d %H:%M:%S}",
        ),
        (
            "message",
            "",
            "message",
            50.0,
            0.5,
            f"message payment received at {timezone.localtime(story['t0'] + S(50)):%Y-%m-%d %H:%M:%S}",
        ),
    ]
    details = {(row.kind, row.activity_id): row.detail for row in timeline.rows}
    assert details[("job", "fetch")] == "attempt 1 of 3"
    assert details[("job", "book")] == (
        "attempt 3 of 3 (2 retries); last error: HTTP 503 from ledger"
    )
    assert details[("task", "approve")] == "completed by ann"
    assert details[("incident", "book")] == "HTTP 503 from ledger"
    assert details[("message", "")] == "correlation key o-1"


def test_a_finished_instance_ends_its_axis_and_closes_its_waits():
    t0 = ds.fixed_now() - timedelta(hours=2)
    inst = ds.instance("exp", created=t0, ended=t0 + S(40), status="cancelled")
    ds.job(inst, "never-ran", created=t0 + S(10), status=JobStatus.CANCELLED)
    timeline = instance_timeline(instance=inst)
    assert (timeline.seconds, timeline.ongoing) == (40.0, False)
    assert _segments(timeline) == [
        ("job", "never-ran", "queue", 25.0, 75.0, "waited in the queue 30 s"),
    ]


def test_a_step_waiting_to_retry_says_so_and_is_not_queued_yet():
    now = ds.fixed_now()
    t0 = now - timedelta(seconds=60)
    inst = ds.instance("exp", created=t0)
    step = ds.job(
        inst, "call", created=t0, started=t0 + S(30), status=JobStatus.PENDING, attempts=1
    )
    _failed(step, at=t0 + S(40), retry_at=now + S(20), attempt=1)
    timeline = instance_timeline(instance=inst, now=now)
    assert [(s.kind, s.offset_pct, s.width_pct, s.text) for s in timeline.rows[0].segments] == [
        ("attempt", 0.0, 66.67, "attempt 1 failed after 40 s (queue and work)"),
        ("retry", 66.67, 33.33, "waited 20 s to retry (still waiting)"),
    ]


def test_the_engines_own_retries_appear_in_order(settings, local_connectors):  # noqa: F811
    """Through the real engine: a step that fails twice and then succeeds."""
    settings.FLOWGATE_JOB_RETRY_BASE_SECONDS = 0
    local_connectors({"unit_flaky": unit_flaky})
    inst = engine_services.instance_start(
        version=_deploy_xml(_single_service_process("unit_flaky")),
        variables={"fail_times": 2},
        actor=Actor.system("test"),
    )
    run_jobs(inst)
    inst.refresh_from_db()
    timeline = instance_timeline(instance=inst)
    assert timeline.ongoing is False
    (row,) = timeline.rows
    assert (row.kind, row.status, row.detail) == (
        "job",
        "Done",
        "attempt 3 of 3 (2 retries); last error: temporarily unavailable",
    )
    assert [s.kind for s in row.segments] == [
        "attempt",
        "retry",
        "attempt",
        "retry",
        "queue",
        "work",
    ]
    texts = [s.text for s in row.segments]
    assert texts[0].startswith("attempt 1 failed after ") and texts[2].startswith("attempt 2 ")
    assert texts[1].startswith("waited ") and texts[1].endswith(" to retry")
    assert texts[4].startswith("waited in the queue ") and texts[5].startswith("worked ")
    for before, after in zip(row.segments, row.segments[1:], strict=False):
        assert before.end is not None and before.end <= after.start  # one after the other


def test_an_incident_and_the_operators_retry_split_the_attempts(
    settings,
    local_connectors,  # noqa: F811
):
    settings.FLOWGATE_JOB_RETRY_BASE_SECONDS = 0
    local_connectors({"unit_flaky": unit_flaky})
    inst = engine_services.instance_start(
        version=_deploy_xml(_single_service_process("unit_flaky")),
        variables={"fail_times": 3},
        actor=Actor.system("test"),
    )
    run_jobs(inst)
    (row,) = instance_timeline(instance=inst).rows[:1]
    assert row.status == "Incident"
    # The third attempt opened the incident: its own queue and work are known.
    assert [s.kind for s in row.segments] == [
        "attempt",
        "retry",
        "attempt",
        "retry",
        "queue",
        "work",
    ]
    incident = Incident.objects.get(instance=inst)
    engine_services.incident_retry(incident_id=incident.pk, actor=Actor.system("test"))
    run_jobs(inst)
    inst.refresh_from_db()
    timeline = instance_timeline(instance=inst)
    (row,) = [r for r in timeline.rows if r.kind == "job"]
    assert row.status == "Done"
    assert [s.kind for s in row.segments] == [
        "attempt",
        "retry",
        "attempt",
        "retry",
        "attempt",
        "queue",
        "work",
    ]
    incident.refresh_from_db()
    assert row.segments[4].text.startswith("attempt 3 failed after ")
    assert row.segments[5].start == incident.resolved_at  # due again when the operator retried
    (incident_row,) = [r for r in timeline.rows if r.kind == "incident"]
    assert incident_row.segments[0].end == incident.resolved_at


def test_waits_without_a_call_are_one_held_segment_not_failed_attempts():
    """An open circuit (or a target's limit) refuses the call three times, then it succeeds."""
    now = ds.fixed_now()
    t0 = now - timedelta(seconds=100)
    inst = ds.instance("exp", created=t0)
    step = ds.job(inst, "call", created=t0, started=t0 + S(45), finished=t0 + S(50))
    for at in (10, 20, 30):
        _failed(step, at=t0 + S(at), retry_at=t0 + S(at + 10), attempt=0, spent=False)
    timeline = instance_timeline(instance=inst, now=now)
    assert [(s.kind, s.offset_pct, s.width_pct, s.text) for s in timeline.rows[0].segments] == [
        ("queue", 0.0, 10.0, "waited in the queue 10 s"),
        (
            "held",
            10.0,
            30.0,
            "held back 30 s without calling (3 checks: circuit open, limit or Retry-After)",
        ),
        ("queue", 40.0, 5.0, "waited in the queue 5 s"),
        ("work", 45.0, 5.0, "worked 5 s"),
    ]


def test_instance_page_shows_the_timeline_in_words_and_as_a_table(client, make_user, story):
    client.force_login(make_user("auditor"))
    page = client.get(f"/admin-reports/instances/{story['instance'].pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="instance-timeline"' in html
    assert (
        "attempt 1 failed after 2 s (queue and work), waited 2 s to retry, attempt 2 failed after"
        " 2 s (queue and work), waited 2 s to retry, waited in the queue 2 s, worked 1 s"
    ) in html
    assert "attempt 3 of 3 (2 retries); last error: HTTP 503 from ledger" in html
    assert "completed by ann" in html
    assert 'data-testid="timeline-table"' in html
    assert 'class="fg-tl-work"' in html


def test_instance_page_access_is_the_same_for_the_timeline(client, make_user, story):
    url = f"/admin-reports/instances/{story['instance'].pk}/"
    assert client.get(url).status_code == 302
    client.force_login(make_user("approver"))
    assert client.get(url).status_code == 403


def test_timeline_api_answers_the_same_rows(make_user, story):
    api = client_for(make_user("auditor")).get(
        f"/api/v1/reports/instances/{story['instance'].pk}/timeline/"
    )
    assert api.status_code == 200
    body = api.json()
    assert set(body) == {"instance_id", "start", "end", "seconds", "ongoing", "rows"}
    assert body["instance_id"] == story["instance"].pk
    assert body["ongoing"] is True
    assert [(r["kind"], r["activity_id"]) for r in body["rows"]] == [
        ("job", "fetch"),
        ("job", "book"),
        ("incident", "book"),
        ("task", "approve"),
        ("timer", "wait"),
        ("message", ""),
    ]
    book = body["rows"][1]
    assert set(book) == {"kind", "activity_id", "label", "status", "start", "detail", "segments"}
    assert [s["kind"] for s in book["segments"]] == [
        "attempt",
        "retry",
        "attempt",
        "retry",
        "queue",
        "work",
    ]
    assert book["segments"][4] == {
        "kind": "queue",
        "start": book["segments"][3]["end"],
        "end": book["segments"][5]["start"],
        "seconds": 2.0,
        # the API's axis ends at the real now, a little after the story's 100 s
        "offset_pct": pytest.approx(13 / body["seconds"] * 100, abs=0.011),
        "width_pct": pytest.approx(2 / body["seconds"] * 100, abs=0.011),
        "text": "waited in the queue 2 s",
    }
    incident = body["rows"][2]["segments"][0]
    assert incident["end"] is None


def test_timeline_api_access_and_missing_instance(make_user, story):
    url = f"/api/v1/reports/instances/{story['instance'].pk}/timeline/"
    assert client_for().get(url).status_code in (401, 403)
    assert client_for(make_user("approver")).get(url).status_code == 403
    assert_error(
        client_for(make_user("manager")).get("/api/v1/reports/instances/999999/timeline/"),
        404,
        "instance_not_found",
    )
