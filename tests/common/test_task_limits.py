"""Time limits every Celery task runs under, enforced in the worker process
(apps/common/task_limits.py): real signals and a real watchdog, in a child Python process."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from celery.exceptions import SoftTimeLimitExceeded

from apps.common import task_limits
from portal.celery import app, arm_time_limits, disarm_time_limits

ROOT = Path(__file__).resolve().parents[2]


def run_child(body: str, timeout: float = 20) -> subprocess.CompletedProcess:
    code = "import time\nfrom apps.common import task_limits\n" + textwrap.dedent(body)
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def test_the_soft_limit_stops_a_busy_task_with_soft_time_limit_exceeded():
    started = time.monotonic()
    with pytest.raises(SoftTimeLimitExceeded):
        with task_limits.bounded(soft=0.3, hard=5):
            while True:  # pure Python busy work
                pass
    assert 0.25 < time.monotonic() - started < 3


def test_a_task_that_ends_in_time_leaves_nothing_armed():
    with task_limits.bounded(soft=0.2, hard=0.4):
        pass
    time.sleep(0.6)  # neither limit fires after the task: this process is still here


def test_the_hard_limit_ends_a_process_that_ignores_the_soft_limit():
    """The soft limit's exception is swallowed and the task sleeps on: the watchdog ends the
    process at the hard limit, with the task's stack on stderr."""
    started = time.monotonic()
    child = run_child(
        """
        task_limits.start(soft=0.2, hard=1.0)
        def stubborn_task():
            while True:
                try:
                    time.sleep(30)
                except BaseException:
                    pass
        stubborn_task()
        """
    )
    assert child.returncode != 0
    assert 0.9 < time.monotonic() - started < 15
    assert "stubborn_task" in child.stderr


def test_limits_are_not_armed_off_the_main_thread():
    answers = []
    thread = threading.Thread(target=lambda: answers.append(task_limits.start(soft=0.1, hard=0.2)))
    thread.start()
    thread.join()
    assert answers == [False]
    time.sleep(0.3)  # nothing fires


def test_every_worker_task_is_armed_and_disarmed_by_the_celery_signals(settings):
    settings.FLOWGATE_TASK_SOFT_TIME_LIMIT = 0.3
    settings.FLOWGATE_TASK_TIME_LIMIT = 5

    class Request:
        is_eager = False

    class Task:
        request = Request()

    arm_time_limits(task=Task())
    try:
        with pytest.raises(SoftTimeLimitExceeded):
            time.sleep(3)
    finally:
        disarm_time_limits(task=Task())
    arm_time_limits(task=Task())
    disarm_time_limits(task=Task())
    time.sleep(0.5)  # disarmed: nothing fires
    # Celery's own limits stay off: the pool's parent would time every task a second time
    assert (app.conf.task_soft_time_limit, app.conf.task_time_limit) == (None, None)


def test_a_host_alarm_is_put_back_after_the_task():
    """pytest-timeout (and any host) may use SIGALRM too: its handler and remaining time return."""
    import signal

    fired = []
    previous = signal.signal(signal.SIGALRM, lambda *_: fired.append(True))
    signal.setitimer(signal.ITIMER_REAL, 1.0)
    try:
        with task_limits.bounded(soft=5, hard=10):
            time.sleep(0.2)
        remaining, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 0.5 < remaining < 0.85
        time.sleep(1.0)
        assert fired == [True]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
