"""ActivitySla thresholds in business time as words ("2 business days", "4 business hours"),
read by the parser user-task SLAs use, through the service, the API and the admin form; bad
input is a 400 that names the field."""

from __future__ import annotations

import pytest

from apps.calendars.models import BusinessCalendar
from apps.common.actors import Actor
from apps.common.errors import InvalidInput
from apps.engine.core.business_time import BusinessCalendar as Calculator
from apps.engine.core.business_time import working_day_seconds
from apps.reports.admin import ActivitySlaAdminForm
from apps.reports.models import ActivitySla
from apps.reports.services import activity_sla_set
from tests.api.test_engine_api import client_for

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")
H = 3600
URL = "/api/v1/reports/activity-slas/biz/approve/"


@pytest.fixture
def short_week():
    """Monday-Thursday 08:00-18:00 (10 h), Friday 08:00-12:00."""
    return BusinessCalendar.objects.create(
        slug="short",
        name="Short Friday",
        time_zone="Europe/Berlin",
        mon="08:00-18:00",
        tue="08:00-18:00",
        wed="08:00-18:00",
        thu="08:00-12:00, 13:00-19:00",
        fri="08:00-12:00",
    )


def test_a_business_day_is_the_calendars_usual_working_day():
    office = Calculator.from_texts("UTC", {d: "09:00-17:00" for d in ("mon", "tue", "wed")})
    assert working_day_seconds(office.week) == 8 * H
    night = Calculator.from_texts("UTC", {"mon": "22:00-06:00", "tue": "22:00-06:00"})
    assert working_day_seconds(night.week) == 8 * H
    uneven = Calculator.from_texts("UTC", {"mon": "09:00-17:00", "tue": "09:00-12:00"})
    assert working_day_seconds(uneven.week) == 8 * H  # a tie: the longer day


def test_business_days_and_hours_become_working_seconds(short_week):
    sla = activity_sla_set(
        process_key="biz",
        activity_id="approve",
        breach_seconds="2 business days",
        warning_seconds="4 business hours",
        business_time=True,
        calendar=short_week,
        actor=SYSTEM,
    )
    assert (sla.breach_seconds, sla.warning_seconds) == (2 * 10 * H, 4 * H)
    # without a calendar: the portal default, else the fallback Monday-Friday 09:00-17:00
    sla = activity_sla_set(
        process_key="biz",
        activity_id="approve",
        breach_seconds="1 business day",
        business_time=True,
        actor=SYSTEM,
    )
    assert (sla.breach_seconds, sla.warning_seconds) == (8 * H, None)
    # seconds stay seconds, as numbers or digits
    sla = activity_sla_set(
        process_key="biz", activity_id="approve", breach_seconds="900", actor=SYSTEM
    )
    assert (sla.breach_seconds, sla.business_time) == (900, False)


@pytest.mark.parametrize(
    ("breach", "warning", "business_time", "field"),
    [
        ("two days", None, True, "breach"),
        ("2 business days", None, False, "breach"),  # business words need business time
        ("1 business day", "soon", True, "warning"),
        ("4 business hours", "1 business day", True, "warning"),  # warning after the breach
    ],
)
def test_bad_thresholds_are_refused_naming_the_field(breach, warning, business_time, field):
    with pytest.raises(InvalidInput) as caught:
        activity_sla_set(
            process_key="biz",
            activity_id="approve",
            breach_seconds=breach,
            warning_seconds=warning,
            business_time=business_time,
            actor=SYSTEM,
        )
    assert caught.value.details[0]["field"] == field
    assert str(caught.value).startswith(f"{field}: ")
    assert not ActivitySla.objects.exists()


def test_the_api_accepts_business_days_and_answers_400_naming_the_field(make_user, short_week):
    api = client_for(make_user("admin"))
    response = api.put(
        URL,
        {"breach": "3 business days", "warning": "2 business days", "business_time": True,
         "calendar": "short"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 200, response.content
    assert response.json() == {
        "process_key": "biz",
        "activity_id": "approve",
        "warning_seconds": 2 * 10 * H,
        "breach_seconds": 3 * 10 * H,
        "business_time": True,
        "calendar": "short",
    }
    for body, field in (
        ({"breach": "three days", "business_time": True}, "breach"),
        ({"breach": "2 business days"}, "breach"),
        ({"breach": "1 business day", "business_time": True, "calendar": "nope"}, "calendar"),
    ):
        response = api.put(URL, body, format="json")
        assert response.status_code == 400, response.content
        assert field in response.content.decode()
    assert ActivitySla.objects.get().breach_seconds == 3 * 10 * H  # unchanged by the refusals
    assert (
        client_for(make_user("requester")).put(URL, {"breach": "60"}, format="json").status_code
        == 403
    )


def test_the_admin_form_reads_business_days(short_week):
    form = ActivitySlaAdminForm(
        data={
            "process_key": "biz",
            "activity_id": "approve",
            "breach_seconds": "2 business days",
            "warning_seconds": "",
            "business_time": "on",
            "calendar": short_week.pk,
        }
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["breach_seconds"] == 2 * 10 * H
    form = ActivitySlaAdminForm(
        data={"process_key": "biz", "activity_id": "approve", "breach_seconds": "2 business days"}
    )
    assert not form.is_valid()
    assert "business time" in str(form.errors["breach_seconds"])
