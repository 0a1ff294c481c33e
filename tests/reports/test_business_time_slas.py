"""Per-activity SLAs in business time (decision 041): each fact's working-time duration is
stored when the fact is written, and every SLA figure (sorted facts, source rows, per-day
buckets, the breach counter) judges it against the working-second thresholds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from apps.audit.models import AuditEvent
from apps.calendars.models import BusinessCalendar
from apps.common.actors import Actor
from apps.common.errors import InvalidInput
from apps.engine.core.business_time import BusinessCalendar as Calculator
from apps.reports.business_facts import business_duration
from apps.reports.facts import task_facts_sync
from apps.reports.metrics import sla_breach_counts
from apps.reports.models import ActivitySla, TaskFact
from apps.reports.selectors import Period, activity_summary, workload_by_role
from apps.reports.services import activity_sla_set
from apps.reports.sql import is_postgres
from apps.reports.summaries import fact_buckets_summarise
from apps.reports.tasks import fill_business_durations
from tests.reports import dataset as ds

SYSTEM = Actor.system("test")
H = 3600
FRI = datetime(2026, 12, 4, tzinfo=UTC)  # a Friday
MON = FRI + timedelta(days=3)
WINDOW = Period(since=FRI - timedelta(days=1), until=MON + timedelta(days=1))


def _at(day: datetime, hour: float) -> datetime:
    return day + timedelta(hours=hour)


@pytest.fixture
def office(db):
    # Monday-Friday 09:00-17:00 UTC (the model's defaults)
    return BusinessCalendar.objects.create(slug="office", name="Office", time_zone="UTC")


def _tasks(activity: str) -> None:
    """Three completed tasks of ``activity`` (wall / business hours under the office week):
    Fri 17:00 -> Mon 16:00 (71 / 7), Fri 10:00 -> Mon 12:00 (74 / 10), Mon 09:00 -> 14:00 (5 / 5)."""
    for created, completed in (
        (_at(FRI, 17), _at(MON, 16)),
        (_at(FRI, 10), _at(MON, 12)),
        (_at(MON, 9), _at(MON, 14)),
    ):
        inst = ds.instance("biz", created=created, ended=completed)
        ds.task(inst, activity, created=created, completed=completed)


def _sla(activity: str) -> dict:
    return next(
        a["sla"]
        for a in activity_summary(period=WINDOW, now=MON + timedelta(days=1))
        if a["activity_id"] == activity
    )


def _all_paths(activity: str) -> list[dict]:
    now = MON + timedelta(days=1)
    paths = [
        activity_summary(period=WINDOW, now=now, buckets=False),
        activity_summary(period=WINDOW, now=now, facts=False),
    ]
    if is_postgres():
        fact_buckets_summarise()
        paths.append(activity_summary(period=WINDOW, now=now))
    return [next(a["sla"] for a in rows if a["activity_id"] == activity) for rows in paths]


@pytest.mark.django_db
def test_the_facts_carry_their_working_time_and_the_sla_judges_it(office):
    # given "warning after 4 working hours, breach after 8" under the office calendar
    activity_sla_set(
        process_key="biz",
        activity_id="approve",
        warning_seconds=4 * H,
        breach_seconds=8 * H,
        business_time=True,
        calendar=office,
        actor=SYSTEM,
    )
    # when three tasks complete (their facts written in the completion's path)
    _tasks("approve")
    # then each fact holds its working seconds beside its wall-clock duration
    facts = sorted(TaskFact.objects.values_list("duration", "business_duration"))
    assert facts == [(5 * H, 5 * H), (71 * H, 7 * H), (74 * H, 10 * H)]
    # and every path judges in business time: 7 h is warned (not breached over a weekend),
    # 10 h breached, 5 h warned
    for sla in _all_paths("approve"):
        assert (sla["met"], sla["warned"], sla["breached"], sla["judged"]) == (0, 2, 1, 3)
    assert {(r["process_key"], r["activity_id"]): int(r["n"]) for r in sla_breach_counts()} == {
        ("biz", "approve"): 1
    }
    assert {(r["activity_id"], int(r["n"])) for r in sla_breach_counts(buckets=False)} == {
        ("approve", 1)
    }


@pytest.mark.django_db
def test_a_wall_clock_sla_of_the_same_numbers_breaches_over_the_weekend(office):
    activity_sla_set(process_key="biz", activity_id="approve", breach_seconds=8 * H, actor=SYSTEM)
    _tasks("approve")
    assert set(TaskFact.objects.values_list("business_duration", flat=True)) == {None}
    for sla in _all_paths("approve"):
        assert (sla["met"], sla["warned"], sla["breached"]) == (1, 0, 2)


@pytest.mark.django_db
def test_switching_an_sla_to_business_time_fills_the_facts_already_written(
    office, django_capture_on_commit_callbacks
):
    # given facts written while the SLA counted wall-clock time
    activity_sla_set(process_key="biz", activity_id="approve", breach_seconds=8 * H, actor=SYSTEM)
    _tasks("approve")
    # when the SLA switches to business time (default calendar: none set, so Mon-Fri 9-17 in
    # TIME_ZONE), which queues the fill of the facts already written
    with django_capture_on_commit_callbacks() as queued:
        activity_sla_set(
            process_key="biz",
            activity_id="approve",
            breach_seconds=8 * H,
            business_time=True,
            actor=SYSTEM,
        )
    assert [c.__self__.name for c in queued] == ["reports.business_durations_fill"]
    unjudged = _all_paths("approve")[0]
    assert unjudged["judged"] == 0  # not measured yet: not judged rather than judged wrongly
    assert fill_business_durations() == 3  # what the queued task runs
    assert fill_business_durations() == 0  # twice is harmless
    # then the old facts are judged in business time
    for sla in _all_paths("approve"):
        assert (sla["met"], sla["warned"], sla["breached"]) == (2, 0, 1)
    # and the change is audited with the clock and calendar
    event = AuditEvent.objects.filter(data__setting="activity_sla").order_by("position").last()
    assert event.before["business_time"] is False
    assert event.after == {
        "warning_seconds": None,
        "breach_seconds": 8 * H,
        "business_time": True,
        "calendar": "",
    }


@pytest.mark.django_db
def test_a_calendar_change_does_not_rewrite_past_figures(office):
    activity_sla_set(
        process_key="biz",
        activity_id="approve",
        breach_seconds=8 * H,
        business_time=True,
        calendar=office,
        actor=SYSTEM,
    )
    _tasks("approve")
    before = sorted(TaskFact.objects.values_list("business_duration", flat=True))
    # when the office starts working Saturdays too
    office.sat = "09:00-17:00"
    office.save()
    task_facts_sync(since=FRI - timedelta(days=1))
    # then the stored working time of past tasks stays what it was
    assert sorted(TaskFact.objects.values_list("business_duration", flat=True)) == before


@pytest.mark.django_db
def test_a_calendar_without_business_time_is_refused(office):
    with pytest.raises(InvalidInput, match="business-time thresholds only"):
        activity_sla_set(
            process_key="biz",
            activity_id="approve",
            breach_seconds=8 * H,
            calendar=office,
            actor=SYSTEM,
        )


def test_a_pause_costs_its_working_time_only():
    week = Calculator.from_texts(
        "UTC", {d: "09:00-17:00" for d in ("mon", "tue", "wed", "thu", "fri")}
    )
    created, completed = _at(FRI, 10), _at(MON, 12)  # 10 working hours
    # paused Friday 16:00 -> Monday 10:00: 2 working hours of the pause come off
    assert business_duration(week, created, completed, [(_at(FRI, 16), _at(MON, 10))]) == 8 * H
    # a pause over the weekend only costs nothing
    assert business_duration(week, created, completed, [(_at(FRI, 17), _at(MON, 9))]) == 10 * H
    assert business_duration(week, created, completed) == 10 * H


@pytest.mark.django_db
def test_open_tasks_are_judged_now_under_the_calendar(office):
    # given an 8-working-hour SLA and three open tasks, judged Monday 11:00 with a 6 h risk window
    activity_sla_set(
        process_key="biz",
        activity_id="approve",
        breach_seconds=8 * H,
        business_time=True,
        calendar=office,
        actor=SYSTEM,
    )
    for created in (_at(FRI, 17), _at(FRI, 10), _at(MON, 10)):
        ds.task(ds.instance("biz", created=created), "approve", created=created)
    now = _at(MON, 11)
    # then: Fri 17:00 breaches Mon 17:00 (at risk, not breached over the weekend), Fri 10:00
    # breached at Mon 10:00, Mon 10:00 breaches Tue 10:00 (neither)
    for facts in (True, False):
        row = next(
            a
            for a in activity_summary(period=WINDOW, now=now, risk_hours=6, facts=facts)
            if a["activity_id"] == "approve"
        )
        assert row["open"] == 3
        assert (row["sla"]["open_at_risk"], row["sla"]["open_breached"]) == (1, 1), facts
    assert workload_by_role(now=now, risk_hours=6) == [
        {"role": "manager", "open": 3, "open_at_risk": 1, "open_breached": 1}
    ]


@pytest.mark.django_db
def test_the_admin_form_refuses_a_calendar_without_business_time(client, make_user, office):
    admin_user = make_user("admin", username="root", is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    url = "/admin/reports/activitysla/add/"
    form = {"process_key": "biz", "activity_id": "approve", "breach_seconds": 8 * H}
    response = client.post(url, {**form, "calendar": office.pk})
    assert response.status_code == 200  # the form again, with the error on the field
    assert "A calendar applies to business-time thresholds only." in response.content.decode()
    assert not ActivitySla.objects.exists()
    response = client.post(url, {**form, "calendar": office.pk, "business_time": "on"})
    assert response.status_code == 302
    sla = ActivitySla.objects.get()
    assert (sla.business_time, sla.calendar_id, sla.breach_seconds) == (True, office.pk, 8 * H)
    assert AuditEvent.objects.get(data__setting="activity_sla").after["calendar"] == "office"
