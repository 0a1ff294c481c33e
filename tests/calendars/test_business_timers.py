"""An escalation timer in business time through the running engine: its Timer row's due time is
counted in the calendar the model names (the task's, then the process's)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import timezone

from apps.calendars.selectors import calculator_for
from apps.calendars.services import calendar_save
from apps.common.actors import Actor
from apps.engine import services as engine
from apps.engine.core.business_time import BusinessDuration
from apps.engine.models import Timer
from apps.processes import services as process_services

pytestmark = pytest.mark.django_db(transaction=True)
XML = (Path(__file__).parents[1] / "engine_core" / "bpmn" / "timer_business.bpmn").read_bytes()
ADMIN = Actor.system("test")


def test_a_boundary_timer_of_one_business_day_counts_in_the_tasks_calendar():
    # the task's calendar works one minute a day on Tuesdays only: far from wall-clock days
    calendar_save(
        slug="berlin",
        values={"name": "Berlin", "time_zone": "Europe/Berlin", "tue": "09:00-09:01"},
        actor=ADMIN,
        create=True,
    )
    result = process_services.version_deploy(xml=XML, actor=ADMIN)
    assert result.deployed, result.version.problems
    calculator, slug = calculator_for("berlin", "office")
    assert slug == "berlin"
    one_day = BusinessDuration(1, "days")
    before = calculator.add(timezone.now(), one_day)
    instance = engine.instance_start(process_key="timer_business", variables={}, actor=ADMIN)
    after = calculator.add(timezone.now(), one_day)
    timer = Timer.objects.get(instance=instance, activity_id="deadline")
    assert timer.due_at in {before, after}
    assert timer.due_at.astimezone(calculator.tz).strftime("%a %H:%M") == "Tue 09:01"
