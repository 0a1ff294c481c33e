"""A running portal logs what happened, not that time passed: periodic ticks are DEBUG unless
they did something, and an expected 4xx is one line without a traceback."""

from __future__ import annotations

import io
import json
import logging

import pytest
from celery.app.trace import LOG_RECEIVED, LOG_SUCCESS
from celery.app.trace import info as trace_info
from celery.beat import ScheduleEntry
from celery.schedules import schedule
from celery.utils.log import get_logger

from apps.common.beat import HeartbeatScheduler
from portal.celery import app

STRATEGY = get_logger("celery.worker.strategy")


def succeeded(name: str, return_value: str) -> None:
    """What the worker logs after a task (celery.app.trace)."""
    trace_info(
        LOG_SUCCESS,
        {
            "id": "t-1",
            "name": name,
            "return_value": return_value,
            "runtime": 0.01,
            "args": "()",
            "kwargs": "{}",
        },
    )


def received(name: str) -> None:
    """What the worker logs when a task arrives (celery.worker.strategy)."""
    context = {"id": "t-1", "name": name, "args": "()", "kwargs": "{}", "eta": None}
    STRATEGY.info(LOG_RECEIVED, context, extra={"data": context})


def messages(caplog) -> list[tuple[str, str]]:
    return [(r.levelname, r.getMessage()) for r in caplog.records]


def test_idle_periodic_ticks_log_nothing_at_info(caplog):
    caplog.set_level(logging.INFO)
    received("engine.fire_timers")
    succeeded("engine.fire_timers", "0")
    received("audit.link")
    succeeded("audit.link", "0")
    succeeded("engine.sweep_jobs", "{'requeued': 0, 'expired': 0}")
    succeeded("common.heartbeat", "None")
    assert messages(caplog) == []


def test_a_tick_that_did_something_is_logged_once_at_info(caplog):
    caplog.set_level(logging.INFO)
    received("engine.fire_timers")
    succeeded("engine.fire_timers", "3")
    succeeded("engine.sweep_jobs", "{'requeued': 2, 'expired': 0}")
    assert messages(caplog) == [
        ("INFO", "Task engine.fire_timers[t-1] succeeded in 0.01s: 3"),
        ("INFO", "Task engine.sweep_jobs[t-1] succeeded in 0.01s: {'requeued': 2, 'expired': 0}"),
    ]


def test_idle_ticks_are_still_there_at_debug(caplog):
    caplog.set_level(logging.DEBUG)
    received("engine.fire_timers")
    assert messages(caplog) == [("DEBUG", "Task engine.fire_timers[t-1] received")]


def test_other_tasks_keep_their_info_lines(caplog):
    caplog.set_level(logging.INFO)
    received("engine.answer_doorbell")
    succeeded("engine.answer_doorbell", "0")
    assert [level for level, _ in messages(caplog)] == ["INFO", "INFO"]


def test_the_scheduler_sends_due_tasks_at_debug(caplog, tmp_path):
    caplog.set_level(logging.INFO)
    sent = []
    scheduler = HeartbeatScheduler(app=app, schedule_filename=str(tmp_path / "beat"), lazy=True)
    scheduler.apply_async = lambda entry, producer=None, advance=False: sent.append(entry.name)
    entry = ScheduleEntry(
        name="engine-fire-timers", task="engine.fire_timers", schedule=schedule(1.0), app=app
    )
    scheduler.apply_entry(entry)
    assert sent == ["engine-fire-timers"]
    assert messages(caplog) == []
    caplog.set_level(logging.DEBUG)
    scheduler.apply_entry(entry)
    assert ("DEBUG", "Scheduler: Sending due task engine-fire-timers (engine.fire_timers)") in (
        messages(caplog)
    )


@pytest.mark.django_db
def test_a_403_is_one_line_without_a_traceback(client, make_user, caplog):
    client.force_login(make_user("approver"))
    caplog.set_level(logging.INFO)
    assert client.get("/admin-reports/audit/").status_code == 403
    [record] = [r for r in caplog.records if r.name.startswith("django")]
    assert (record.levelname, record.getMessage()) == (
        "WARNING",
        "Forbidden (Permission denied): /admin-reports/audit/",
    )
    assert record.exc_info is None and record.exc_text is None


def test_django_records_reach_the_console_once():
    """Django's own console handler (active with DEBUG=true) is gone: records go to the root's
    JSON handler only, so nothing is printed twice."""
    assert logging.getLogger("django").handlers == []
    assert len(logging.getLogger().handlers) >= 1


@pytest.mark.django_db
def test_the_console_prints_an_expected_400_as_one_line(client):
    """A bad Host header is logged by django.security.DisallowedHost with its exception: the
    console handler prints one JSON line without the traceback."""
    [console] = [h for h in logging.getLogger().handlers if type(h) is logging.StreamHandler]
    stream = io.StringIO()
    previous = console.setStream(stream)
    try:
        assert client.get("/", HTTP_HOST="not-allowed.example").status_code == 400
    finally:
        console.setStream(previous)
    lines = stream.getvalue().splitlines()
    security = [json.loads(line) for line in lines if "django.security" in line]
    assert [(r["level"], r["logger"]) for r in security] == [
        ("ERROR", "django.security.DisallowedHost")
    ]
    assert "exc_info" not in security[0] and "Traceback" not in stream.getvalue()
