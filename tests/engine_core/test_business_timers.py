"""Escalation timers in business time: a boundary timer of "1 business day" on a user task counts
in the task's business calendar (the runtime resolves the names the model gives)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from apps.engine.core.business_time import BusinessCalendar
from apps.engine.core.calendar_refs import timer_calendars
from apps.engine.core.compile import compile_bpmn
from apps.engine.core.errors import BpmnValidationError
from apps.engine.core.timer_pause import boundary_timers_pause, boundary_timers_resume
from tests.engine_core.helpers import Clock, activities, fixture, restore, runner

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = BusinessCalendar.from_texts(
    "Europe/Berlin", {d: "09:00-17:00" for d in ("mon", "tue", "wed", "thu", "fri")}
)
FRIDAY_17 = datetime(2026, 12, 4, 17, tzinfo=BERLIN)
MONDAY_17 = datetime(2026, 12, 7, 17, tzinfo=BERLIN)


def test_the_model_names_the_tasks_calendar_then_the_processes():
    assert timer_calendars(fixture("timer_business.bpmn")) == {"deadline": ("berlin", "office")}


def test_friday_17_00_plus_one_business_day_escalates_on_monday_17_00():
    asked: list[str] = []
    clock = Clock(FRIDAY_17)
    r = runner("timer_business.bpmn", clock=clock)
    r.business_calendar = lambda bpmn_id: asked.append(bpmn_id) or OFFICE
    instance = r.start({})
    [timer] = instance.effects().timers
    assert (timer.activity_id, timer.due_at) == ("deadline", MONDAY_17)
    assert asked == ["deadline"]
    instance = restore(r, instance)
    instance.fire_due_timers(MONDAY_17 - timedelta(seconds=1))  # Saturday is not late
    assert [t.activity_id for t in instance.effects().user_tasks] == ["review"]
    instance = restore(r, instance)
    instance.fire_due_timers(MONDAY_17)
    effects = instance.effects()
    assert [t.activity_id for t in effects.user_tasks] == ["escalated"]
    assert "review" in activities(effects, "cancelled")


def test_without_a_calendar_business_time_is_an_error_not_wall_clock_days():
    r = runner("timer_business.bpmn", clock=Clock(FRIDAY_17))
    with pytest.raises(Exception, match="business calendar"):
        r.start({})


def test_business_time_is_refused_on_a_timer_start_event():
    xml = fixture("timer_business.bpmn").replace(
        b'<bpmn:startEvent id="start"/>',
        b'<bpmn:startEvent id="start"><bpmn:timerEventDefinition><bpmn:timeDuration>'
        b"2 business days</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:startEvent>",
    )
    with pytest.raises(BpmnValidationError, match="business time"):
        compile_bpmn(xml)


def test_boundary_timers_pause_and_resume_where_the_caller_says():
    clock = Clock(FRIDAY_17)
    r = runner("timer_business.bpmn", clock=clock)
    r.business_calendar = lambda bpmn_id: OFFICE
    instance = r.start({})
    [task] = instance.effects().user_tasks
    assert boundary_timers_pause(instance, task.task_id) == ["deadline"]
    instance = restore(r, instance)
    instance.fire_due_timers(MONDAY_17 + timedelta(days=30))  # paused: never fires
    assert [t.activity_id for t in instance.effects().user_tasks] == ["review"]
    seen = []

    def move(bpmn_id, due, business):
        seen.append((bpmn_id, due, business))
        return due + timedelta(days=1)

    assert boundary_timers_resume(instance, task.task_id, move) == ["deadline"]
    assert seen == [("deadline", MONDAY_17, True)]
    [timer] = instance.effects().timers
    assert timer.due_at == MONDAY_17 + timedelta(days=1)
    instance = restore(r, instance)
    instance.fire_due_timers(MONDAY_17 + timedelta(days=1))
    assert [t.activity_id for t in instance.effects().user_tasks] == ["escalated"]
