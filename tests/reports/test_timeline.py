"""The instance timeline (issue 23): the selector's segments, the page and the API, with access
per role."""

from __future__ import annotations

from datetime import timedelta

import pytest

from apps.engine.models import Incident, Job, JobStatus, Timer
from apps.reports.selectors.timeline import instance_timeline
from tests.api.helpers import assert_error
from tests.api.test_engine_api import client_for
from tests.reports import dataset as ds

pytestmark = pytest.mark.django_db
S = ds.seconds


@pytest.fixture
def story(make_user):
    """An instance started 100 s ago: a quick step, a step retried into an incident that is still
    open, a person who took a minute, a timer that fired."""
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
    incident = ds.incident(inst, "book", job_row=book, message="HTTP 503 from ledger")
    Incident.objects.filter(pk=incident.pk).update(created_at=t0 + S(16))
    ann = make_user("approver", username="ann")
    ds.task(inst, "approve", created=t0 + S(20), completed=t0 + S(80), completed_by=ann)
    Timer.objects.create(
        instance=inst, task_id="tm1", activity_id="wait", due_at=t0 + S(30), fired_at=t0 + S(30)
    )
    return {"instance": inst, "t0": t0, "now": t0 + S(100), "incident": incident}


def _segments(timeline):
    return [
        (row.kind, row.activity_id, s.kind, s.offset_pct, s.width_pct, s.text)
        for row in timeline.rows
        for s in row.segments
    ]


def test_timeline_puts_each_wait_and_work_on_the_instance_axis(story, django_assert_num_queries):
    with django_assert_num_queries(4):
        timeline = instance_timeline(instance=story["instance"], now=story["now"])
    assert timeline.seconds == 100.0
    assert timeline.ongoing is True
    assert _segments(timeline) == [
        ("job", "fetch", "queue", 0.0, 2.0, "waited in the queue 2 s"),
        ("job", "fetch", "work", 2.0, 3.0, "worked 3 s"),
        ("job", "book", "queue", 5.0, 10.0, "waited in the queue 10 s"),
        ("job", "book", "work", 15.0, 1.0, "worked 1 s"),
        ("incident", "book", "incident", 16.0, 84.0, "incident open 1 min 24 s (still going on)"),
        ("task", "approve", "person", 20.0, 60.0, "waited for a person 1 min 0 s"),
        (
            "timer",
            "wait",
            "timer",
            30.0,
            0.5,
            f"timer fired at {story['t0'] + S(30):%Y-%m-%d %H:%M:%S}",
        ),
    ]
    details = {(row.kind, row.activity_id): row.detail for row in timeline.rows}
    assert details[("job", "fetch")] == "attempt 1 of 3"
    assert details[("job", "book")] == (
        "attempt 3 of 3 (2 retries); last error: HTTP 503 from ledger"
    )
    assert details[("task", "approve")] == "completed by ann"
    assert details[("incident", "book")] == "HTTP 503 from ledger"


def test_a_finished_instance_ends_its_axis_and_closes_its_waits():
    t0 = ds.fixed_now() - timedelta(hours=2)
    inst = ds.instance("exp", created=t0, ended=t0 + S(40), status="cancelled")
    ds.job(inst, "never-ran", created=t0 + S(10), status=JobStatus.CANCELLED)
    timeline = instance_timeline(instance=inst)
    assert (timeline.seconds, timeline.ongoing) == (40.0, False)
    assert _segments(timeline) == [
        ("job", "never-ran", "queue", 25.0, 75.0, "waited in the queue 30 s"),
    ]


def test_instance_page_shows_the_timeline_in_words_and_as_a_table(client, make_user, story):
    client.force_login(make_user("auditor"))
    page = client.get(f"/admin-reports/instances/{story['instance'].pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="instance-timeline"' in html
    assert "waited in the queue 10 s, worked 1 s" in html
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
    ]
    book = body["rows"][1]
    assert set(book) == {"kind", "activity_id", "label", "status", "start", "detail", "segments"}
    assert book["segments"][0] == {
        "kind": "queue",
        "start": book["segments"][0]["start"],
        "end": book["segments"][1]["start"],
        "seconds": 10.0,
        "offset_pct": book["segments"][0]["offset_pct"],
        "width_pct": book["segments"][0]["width_pct"],
        "text": "waited in the queue 10 s",
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
