"""SLA deadlines of user tasks in business time: the model's attributes, the calendar chosen
(task, process, portal default, fallback week) and a task created by the running engine."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from apps.calendars.models import BusinessCalendar
from apps.calendars.selectors import calculator_for
from apps.calendars.services import calendar_save
from apps.common.actors import Actor
from apps.engine import services as engine
from apps.engine.core.business_time import BusinessDuration
from apps.inbox.model_rules import _rules_for_xml
from apps.inbox.models import HumanTask
from apps.inbox.sla_times import sla_deadlines
from apps.processes import services as process_services

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")
XML = (Path(__file__).parent / "business.bpmn").read_text()
ADMIN = Actor.system("test")
WEEKDAYS_9_17 = {d: "09:00-17:00" for d in ("mon", "tue", "wed", "thu", "fri")}


def make(slug, *, default=False, **values):
    base = {"name": slug.title(), "time_zone": "Europe/Berlin", **WEEKDAYS_9_17}
    base.update(values)
    base["is_default"] = default
    return calendar_save(slug=slug, values=base, actor=ADMIN, create=True)


def rules():
    return _rules_for_xml("business-test", XML, "business_sla")


def test_the_model_reads_business_durations_and_calendars():
    r = rules()
    review = r.task("review")
    assert r.calendar == "berlin"
    assert (review.sla_warning, review.sla_breach) == (None, None)
    assert str(review.sla_warning_business) == "4 business hours"
    assert str(review.sla_breach_business) == "1 business day"
    assert r.task("night_check").calendar == "nights"


def test_friday_17_00_with_one_business_day_breaches_on_monday_17_00():
    make("berlin")
    friday = datetime(2026, 12, 4, 17, tzinfo=BERLIN)
    warning, breach = sla_deadlines(rules(), rules().task("review"), now=friday)
    assert warning == datetime(2026, 12, 7, 13, tzinfo=BERLIN)
    assert breach == datetime(2026, 12, 7, 17, tzinfo=BERLIN)


def test_public_holidays_and_own_days_move_the_deadline():
    # Bavaria: 2026-12-25/26 public holidays; the organisation closes on 2026-12-24 too
    make(
        "berlin",
        holiday_country="DE",
        holiday_subdivision="BY",
        own_days=[{"date": "2026-12-24", "name": "Christmas Eve"}],
    )
    wednesday = datetime(2026, 12, 23, 17, tzinfo=BERLIN)
    _, breach = sla_deadlines(rules(), rules().task("review"), now=wednesday)
    assert breach == datetime(2026, 12, 28, 17, tzinfo=BERLIN)
    # Epiphany (6 January) is a holiday in Bavaria: Monday 2027-01-05 17:00 + 1 day = 7 January
    _, breach = sla_deadlines(
        rules(), rules().task("review"), now=datetime(2027, 1, 5, 17, tzinfo=BERLIN)
    )
    assert breach == datetime(2027, 1, 7, 17, tzinfo=BERLIN)


def test_the_tasks_calendar_overrides_the_process_and_the_default_applies_when_none_exists():
    make("berlin")
    make("nights", mon="22:00-06:00", tue="22:00-06:00", wed="", thu="", fri="")
    monday_noon = datetime(2026, 12, 7, 12, tzinfo=BERLIN)
    _, breach = sla_deadlines(rules(), rules().task("night_check"), now=monday_noon)
    assert breach == datetime(2026, 12, 8, 0, tzinfo=BERLIN)
    # the process names "berlin" and it does not exist: the portal default counts
    BusinessCalendar.objects.filter(slug="berlin").delete()
    make("ny", default=True, time_zone="America/New_York")
    _, breach = sla_deadlines(rules(), rules().task("review"), now=monday_noon)
    assert breach == datetime(2026, 12, 7, 17, tzinfo=ZoneInfo("America/New_York"))


def test_without_any_calendar_business_time_counts_monday_to_friday_9_to_17(settings):
    settings.TIME_ZONE = "UTC"
    friday = datetime(2026, 12, 4, 17, tzinfo=ZoneInfo("UTC"))
    _, breach = sla_deadlines(rules(), rules().task("review"), now=friday)
    assert breach == datetime(2026, 12, 7, 17, tzinfo=ZoneInfo("UTC"))


def test_iso_durations_stay_wall_clock_under_a_calendar():
    make("berlin")
    xml = XML.replace('flowgate:slaBreach="1 business day"', 'flowgate:slaBreach="P1D"')
    r = _rules_for_xml("wall", xml, "business_sla")
    friday = datetime(2026, 12, 4, 17, tzinfo=BERLIN)
    _, breach = sla_deadlines(r, r.task("review"), now=friday)
    assert breach == friday + timedelta(days=1)


@pytest.mark.django_db(transaction=True)
def test_a_task_created_by_the_engine_gets_its_business_deadlines(make_user):
    make("berlin")
    result = process_services.version_deploy(xml=XML.encode(), actor=ADMIN)
    assert result.deployed, result.version.problems
    user = make_user("approver", username="req")
    instance = engine.instance_start(
        process_key="business_sla", variables={}, actor=Actor.for_user(user), started_by=user
    )
    task = HumanTask.objects.get(instance=instance, activity_id="review")
    calc, used = calculator_for("", "berlin")
    assert used == "berlin"
    # the projection's clock is read a few milliseconds before the row's created_at
    one_day = calc.add(task.created_at, BusinessDuration(1, "days"))
    four_hours = calc.add(task.created_at, BusinessDuration(4 * 3600, "seconds"))
    assert abs(task.sla_breach_at - one_day) < timedelta(seconds=2)
    assert abs(task.sla_warning_at - four_hours) < timedelta(seconds=2)
    assert task.due_at == task.sla_breach_at


@pytest.mark.parametrize("value", ["2 buisness days", "tomorrow", "PT"])
def test_a_deploy_refuses_an_sla_that_is_neither_business_time_nor_iso(value):
    xml = XML.replace('flowgate:slaBreach="1 business day"', f'flowgate:slaBreach="{value}"')
    result = process_services.version_deploy(xml=xml.encode(), actor=ADMIN)
    assert not result.deployed
    problems = [p for p in result.version.problems if p["code"] == "bad_sla"]
    assert [p["element_id"] for p in problems] == ["review"]
    assert f"the SLA breach '{value}' is neither business time" in problems[0]["message"]
