"""Business time over a calendar: adding business hours/days and measuring elapsed working time."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from apps.engine.core.business_time import (
    BusinessCalendar,
    BusinessDuration,
    CalendarError,
    deadline_after_pause,
    parse_business_duration,
    parse_periods,
)

BERLIN = ZoneInfo("Europe/Berlin")
NY = ZoneInfo("America/New_York")
OFFICE = {d: "09:00-17:00" for d in ("mon", "tue", "wed", "thu", "fri")}


def at(y, m, d, h=0, mi=0, tz=BERLIN):
    return datetime(y, m, d, h, mi, tzinfo=tz)


def office(zone="Europe/Berlin", closed=(), **week):
    return BusinessCalendar.from_texts(zone, {**OFFICE, **week}, closed)


# 2026-12-04 is a Friday; 2026-12-07 a Monday.


def test_friday_17_00_plus_one_business_day_is_monday_17_00_not_saturday():
    cal = office()
    assert cal.add_days(at(2026, 12, 4, 17), 1) == at(2026, 12, 7, 17)
    assert cal.add(at(2026, 12, 4, 17), parse_business_duration("1 business day")) == at(
        2026, 12, 7, 17
    )


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (at(2026, 12, 4, 18, 30), at(2026, 12, 7, 17)),  # Friday evening
        (at(2026, 12, 5, 11), at(2026, 12, 7, 17)),  # Saturday
        (at(2026, 12, 7, 8), at(2026, 12, 7, 17)),  # Monday before opening: Monday's whole day
        (at(2026, 12, 7, 12), at(2026, 12, 8, 12)),  # mid-morning keeps its position
        (at(2026, 12, 4, 9, 1), at(2026, 12, 7, 9, 1)),  # across the weekend
    ],
)
def test_one_business_day_from_various_moments(start, expected):
    assert office().add_days(start, 1) == expected


def test_business_days_span_weeks():
    cal = office()
    assert cal.add_days(at(2026, 12, 2, 10), 10) == at(2026, 12, 16, 10)  # Wed + 2 weeks
    assert cal.add_days(at(2026, 12, 2, 10), 0) == at(2026, 12, 2, 10)


def test_business_hours_land_on_the_earliest_moment():
    cal = office()
    # Friday 15:00 + 4 business hours: 2 on Friday, 2 on Monday
    assert cal.add_seconds(at(2026, 12, 4, 15), 4 * 3600) == at(2026, 12, 7, 11)
    # exactly the rest of Friday: Friday 17:00, not Monday 09:00
    assert cal.add_seconds(at(2026, 12, 4, 15), 2 * 3600) == at(2026, 12, 4, 17)
    # from a weekend: starts counting Monday 09:00
    assert cal.add_seconds(at(2026, 12, 6, 23), 3600) == at(2026, 12, 7, 10)
    # 40 business hours = one working week
    assert cal.add_seconds(at(2026, 12, 7, 9), 40 * 3600) == at(2026, 12, 11, 17)
    assert cal.add_seconds(at(2026, 12, 7, 9), 41 * 3600) == at(2026, 12, 14, 10)


def test_lunch_breaks_are_not_working_time():
    cal = office(**{d: "09:00-12:00, 13:00-17:00" for d in ("mon", "tue", "wed", "thu", "fri")})
    assert cal.add_seconds(at(2026, 12, 7, 11), 2 * 3600) == at(2026, 12, 7, 14)
    assert cal.elapsed(at(2026, 12, 7, 8), at(2026, 12, 7, 18)) == timedelta(hours=7)
    # 12:00 is 3 hours into Monday; one day later is 3 hours into Tuesday (12:00 too)
    assert cal.add_days(at(2026, 12, 7, 12, 30), 1) == at(2026, 12, 8, 12)


def test_holidays_and_the_organisations_own_days_are_skipped():
    # 2026-12-24/25/26 (Thu-Sat) closed; 2026-12-31 the organisation's own day
    closed = [date(2026, 12, 24), date(2026, 12, 25), date(2026, 12, 31)]
    cal = office(closed=closed)
    assert cal.add_days(at(2026, 12, 23, 17), 1) == at(2026, 12, 28, 17)
    assert cal.add_days(at(2026, 12, 30, 12), 1) == at(2027, 1, 1, 12)
    assert cal.add_seconds(at(2026, 12, 23, 16), 2 * 3600) == at(2026, 12, 28, 10)
    assert cal.elapsed(at(2026, 12, 23, 9), at(2026, 12, 29, 9)) == timedelta(hours=16)


def test_elapsed_business_time():
    cal = office()
    assert cal.elapsed(at(2026, 12, 4, 17), at(2026, 12, 7, 17)) == timedelta(hours=8)
    assert cal.elapsed(at(2026, 12, 4, 16), at(2026, 12, 7, 10)) == timedelta(hours=2)
    assert cal.elapsed(at(2026, 12, 5, 0), at(2026, 12, 6, 23)) == timedelta(0)
    assert cal.elapsed(at(2026, 12, 7, 10), at(2026, 12, 7, 9)) == timedelta(0)
    assert cal.elapsed(at(2026, 11, 30, 0), at(2026, 12, 14, 0)) == timedelta(hours=80)
    # a whole (non-leap) year of Monday-Friday 9-17: 261 working days
    assert cal.elapsed(at(2027, 1, 1), at(2028, 1, 1)) == timedelta(hours=8 * 261)


def test_adding_then_measuring_round_trips():
    cal = office(**{"sat": "10:00-14:00"})
    start = at(2026, 12, 3, 13, 17)
    for hours in range(0, 90, 7):
        due = cal.add_seconds(start, hours * 3600)
        assert cal.elapsed(start, due) == timedelta(hours=hours)


def test_daylight_saving_changes_keep_local_office_hours():
    cal = office()
    # Berlin leaves summer time on Sunday 2026-10-25: Friday 17:00 CEST + 1 day = Monday 17:00 CET
    due = cal.add_days(at(2026, 10, 23, 17), 1)
    assert due == at(2026, 10, 26, 17)
    assert due.astimezone(UTC) == datetime(2026, 10, 26, 16, tzinfo=UTC)
    # and the wall-clock gap between the two is 73 hours, not 72
    assert due - at(2026, 10, 23, 17) == timedelta(hours=73)
    # spring forward on Sunday 2027-03-28
    assert cal.add_seconds(at(2027, 3, 26, 16), 2 * 3600) == at(2027, 3, 29, 10)
    assert cal.elapsed(at(2027, 3, 26, 9), at(2027, 3, 29, 17)) == timedelta(hours=16)


def test_the_calendar_works_in_its_own_zone_whatever_the_input_zone():
    cal = office(zone="America/New_York")
    friday_5pm_new_york = datetime(2026, 12, 4, 22, tzinfo=UTC)  # 17:00 EST
    assert cal.add_days(friday_5pm_new_york, 1) == datetime(2026, 12, 7, 17, tzinfo=NY)
    assert cal.add_seconds(friday_5pm_new_york, 3600).astimezone(NY) == at(2026, 12, 7, 10, tz=NY)


def test_overnight_shifts_belong_to_the_day_they_start_on():
    nights = {d: "22:00-06:00" for d in ("mon", "tue", "wed", "thu", "fri")}
    cal = BusinessCalendar.from_texts("Europe/Berlin", nights)
    # Friday 23:00 + 4 hours: the Friday night shift runs to Saturday 03:00
    assert cal.add_seconds(at(2026, 12, 4, 23), 4 * 3600) == at(2026, 12, 5, 3)
    # Saturday 05:00 + 2 hours: 1 hour left of Friday's shift, then Monday 22:00 + 1
    assert cal.add_seconds(at(2026, 12, 5, 5), 2 * 3600) == at(2026, 12, 7, 23)
    # Tuesday 02:00 is 4 hours into Monday's shift; + 1 day = 4 hours into Tuesday's shift
    assert cal.add_days(at(2026, 12, 8, 2), 1) == at(2026, 12, 9, 2)
    # Saturday noon counts as the end of Friday's shift; + 1 day = the end of Monday's shift
    assert cal.add_days(at(2026, 12, 5, 12), 1) == at(2026, 12, 8, 6)
    assert cal.elapsed(at(2026, 12, 4, 0), at(2026, 12, 8, 0)) == timedelta(hours=6 + 8 + 2)


def test_an_overnight_shift_across_a_dst_change_is_as_long_as_worked():
    cal = BusinessCalendar.from_texts("Europe/Berlin", {"sat": "22:00-06:00"})
    # the night of 2026-10-24/25 has 25 hours: the shift lasts 9
    assert cal.day_length(date(2026, 10, 24)) == 9 * 3600
    assert cal.add_seconds(at(2026, 10, 24, 22), 9 * 3600) == at(2026, 10, 25, 6)
    # the night of 2027-03-27/28 has 23 hours: the shift lasts 7
    assert cal.day_length(date(2027, 3, 27)) == 7 * 3600


def test_a_closed_date_removes_the_shift_starting_on_it_only():
    nights = {d: "22:00-06:00" for d in ("mon", "tue", "wed", "thu", "fri")}
    cal = BusinessCalendar.from_texts("Europe/Berlin", nights, [date(2026, 12, 8)])
    # Monday's shift runs into the closed Tuesday; Tuesday's does not happen
    assert cal.elapsed(at(2026, 12, 7, 12), at(2026, 12, 9, 12)) == timedelta(hours=8)


def test_parse_periods_and_durations():
    assert [str(p) for p in parse_periods("13:00-17:00, 09:00-12:00")] == [
        "09:00-12:00",
        "13:00-17:00",
    ]
    assert [str(p) for p in parse_periods("08:00-24:00")] == ["08:00-00:00"]
    assert parse_periods("") == ()
    for bad in (
        "9-17",
        "09:00-09:00",
        "25:00-26:00",
        "09:00-12:00,11:00-13:00",
        "22:00-06:00,23:00-23:30",
    ):
        with pytest.raises(CalendarError):
            parse_periods(bad)
    assert parse_business_duration("2 business days") == BusinessDuration(2, "days")
    assert parse_business_duration(" 4 Business Hours ") == BusinessDuration(14400, "seconds")
    assert parse_business_duration("30 business minutes") == BusinessDuration(1800, "seconds")
    assert str(BusinessDuration(14400, "seconds")) == "4 business hours"
    assert str(BusinessDuration(1, "days")) == "1 business day"
    for other in ("P1D", "", None, "2 days", "-1 business day", "1.5 business hours"):
        assert parse_business_duration(other) is None


def test_unusable_calendars_are_refused():
    with pytest.raises(CalendarError, match="time zone"):
        office(zone="Mars/Olympus")
    with pytest.raises(CalendarError, match="no working hours"):
        BusinessCalendar.from_texts("UTC", {})
    with pytest.raises(CalendarError, match="aware"):
        office().add_days(datetime(2026, 12, 4, 17), 1)  # noqa: DTZ001
    with pytest.raises(CalendarError, match="negative"):
        office().add_seconds(at(2026, 12, 4), -1)
    # every working day closed for years: a clear error, not an endless loop
    closed = [date(2026, 1, 1) + timedelta(days=i) for i in range(4 * 366)]
    with pytest.raises(CalendarError, match="No working"):
        office(closed=closed).add_seconds(at(2026, 1, 1), 60)


# --- the SLA clock paused while a task waits on the requester --------------------------------


def test_a_pause_moves_a_deadline_by_the_working_time_it_took():
    # due Monday 17:00; asked Friday 16:00, answered Saturday 10:00: one working hour (Friday
    # 16-17) was paused, so nine working hours are left from Saturday: Tuesday 10:00
    due = at(2026, 12, 7, 17)
    moved = deadline_after_pause(
        due, paused_at=at(2026, 12, 4, 16), resumed_at=at(2026, 12, 5, 10), calendar=office()
    )
    assert moved == at(2026, 12, 8, 10)


def test_a_pause_over_a_weekend_only_costs_nothing_in_business_time():
    due = at(2026, 12, 7, 17)
    moved = deadline_after_pause(
        due, paused_at=at(2026, 12, 4, 17), resumed_at=at(2026, 12, 7, 9), calendar=office()
    )
    assert moved == due


def test_a_pause_moves_a_wall_clock_deadline_by_the_wall_clock_pause():
    due = at(2026, 12, 7, 17)
    moved = deadline_after_pause(
        due, paused_at=at(2026, 12, 4, 16), resumed_at=at(2026, 12, 5, 10, 30)
    )
    assert moved == due + timedelta(hours=18, minutes=30)


def test_a_deadline_missed_before_the_pause_stays_missed():
    due = at(2026, 12, 4, 12)
    for calendar in (None, office()):
        moved = deadline_after_pause(
            due, paused_at=at(2026, 12, 4, 16), resumed_at=at(2026, 12, 8, 9), calendar=calendar
        )
        assert moved == due
