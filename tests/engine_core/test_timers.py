"""Timer start, intermediate and boundary (interrupting / non-interrupting) events."""

from datetime import UTC, datetime, timedelta

import pytest

from apps.engine.core import timers
from tests.engine_core.helpers import T0, Clock, activities, restore, runner


def test_intermediate_duration_and_date_timers_fire_at_their_due_time():
    clock = Clock()
    r = runner("timer_intermediate.bpmn", clock=clock)
    instance = r.start({"wake_at": "2031-01-01T00:00:00Z"})
    [timer] = instance.effects().timers
    assert (timer.activity_id, timer.due_at) == ("cool_off", T0 + timedelta(minutes=30))
    instance = restore(r, instance)
    instance.fire_due_timers(T0 + timedelta(minutes=29))
    assert [t.activity_id for t in instance.effects().timers] == ["cool_off"]
    instance = restore(r, instance)
    instance.fire_due_timers(T0 + timedelta(minutes=30))
    [timer] = instance.effects().timers
    assert (timer.activity_id, timer.due_at) == (
        "until_date",
        datetime(2031, 1, 1, tzinfo=UTC),
    )
    instance = restore(r, instance)
    instance.fire_due_timers(datetime(2031, 1, 1, 0, 0, 1, tzinfo=UTC))
    effects = instance.effects()
    assert effects.status == "completed"
    assert effects.timers == ()


def test_fire_due_timers_needs_an_aware_datetime():
    instance = runner("timer_intermediate.bpmn").start({"wake_at": "2031-01-01"})
    with pytest.raises(Exception, match="aware datetime"):
        instance.fire_due_timers(datetime(2031, 1, 1))  # noqa: DTZ001


def test_non_interrupting_cycle_and_interrupting_duration_boundary_timers():
    clock = Clock()
    r = runner("timer_boundary.bpmn", clock=clock)
    instance = r.start({})
    effects = instance.effects()
    assert {t.activity_id: t.due_at for t in effects.timers} == {
        "reminder": T0 + timedelta(minutes=10),
        "deadline": T0 + timedelta(hours=1),
    }
    instance = restore(r, instance)
    instance.fire_due_timers(T0 + timedelta(minutes=10))
    effects = instance.effects()
    assert [t.activity_id for t in effects.user_tasks] == ["review"]
    assert [j.activity_id for j in effects.service_tasks] == ["send_reminder"]
    assert {t.activity_id: t.due_at for t in effects.timers} == {
        "reminder": T0 + timedelta(minutes=20),
        "deadline": T0 + timedelta(hours=1),
    }
    instance = restore(r, instance)
    instance.fire_due_timers(T0 + timedelta(minutes=20))
    effects = instance.effects()
    assert len(effects.service_tasks) == 2
    assert [t.activity_id for t in effects.timers] == ["deadline"]  # R2: no third reminder
    instance = restore(r, instance)
    instance.fire_due_timers(T0 + timedelta(hours=1))
    effects = instance.effects()
    assert [t.activity_id for t in effects.user_tasks] == ["escalated"]
    assert "review" in activities(effects, "cancelled")
    assert effects.timers == ()


def test_boundary_timers_disappear_when_the_task_completes_in_time():
    r = runner("timer_boundary.bpmn")
    instance = r.start({})
    [task] = instance.effects().user_tasks
    instance = restore(r, instance)
    instance.complete_user_task(task.task_id, {})
    effects = instance.effects()
    assert effects.status == "completed"
    assert effects.timers == ()
    assert sorted(activities(effects, "cancelled")) == ["deadline", "reminder"]


@pytest.mark.parametrize("event_id", ["nightly", "once", "every_hour"])
def test_timer_start_event_chosen_by_the_runtime_starts_the_flow(event_id):
    r = runner("timer_start.bpmn")
    instance = r.start({"run": 1}, start_event_id=event_id)
    effects = instance.effects()
    assert [j.activity_id for j in effects.service_tasks] == ["report"]
    assert effects.timers == ()
    assert activities(effects, "completed") == [event_id]
    instance = restore(r, instance)
    instance.complete_service_task(effects.service_tasks[0].task_id, {})
    assert instance.effects().status == "completed"


def test_timer_helpers_compute_due_times_for_the_runtime():
    now = datetime(2030, 1, 31, 12, 0, tzinfo=UTC)
    assert timers.first_due("duration", "P1M", now=now) == datetime(2030, 3, 3, 12, 0, tzinfo=UTC)
    assert timers.first_due("date", "2030-02-01T08:00:00", now=now) == datetime(
        2030, 2, 1, 8, 0, tzinfo=UTC
    )
    assert timers.first_due("cycle", "R3/PT10M", now=now) == now + timedelta(minutes=10)
    assert timers.first_due("cycle", "0 2 * * *", now=now) == datetime(2030, 2, 1, 2, 0, tzinfo=UTC)
    cycle = timers.parse_cycle("R/2030-01-01T00:00:00Z/P1D", now=now)
    assert (cycle.repetitions, cycle.first, cycle.interval) == (
        -1,
        datetime(2030, 1, 1, tzinfo=UTC),
        timedelta(days=1),
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT1H", "'PT1H'"),
        (" R3/PT10M ", "'R3/PT10M'"),
        ("2030-01-01T09:00:00Z", "'2030-01-01T09:00:00Z'"),
        ("${PT5M}", "'PT5M'"),
        ("${wake_at}", "${wake_at}"),
        ("due_in", "due_in"),
    ],
)
def test_bare_iso_literals_are_normalized_to_string_expressions(text, expected):
    assert timers.normalize_timer_expression(text) == expected


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("duration", "PT"),
        ("duration", "1H"),
        ("date", "2030-13-01"),
        ("cycle", "R3"),
        ("cycle", "* * *"),
    ],
)
def test_invalid_timer_values_are_explained(kind, value):
    assert timers.validate_timer_value(kind, value, allow_cron=True) is not None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("PT1H", 3600), ("P1W", 604800), ("P2DT3H4M5.5S", 183845.5), ("pt90m", 5400)],
)
def test_a_fixed_duration_has_one_length_whatever_the_start(text, seconds):
    assert timers.fixed_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["P", "PT", "P1M", "P1Y", "1H", ""])
def test_a_calendar_or_malformed_duration_is_not_a_fixed_one(text):
    with pytest.raises(timers.TimerValueError):
        timers.fixed_duration(text)
