"""Time limits for every Celery task, enforced inside the worker process that runs it.

No task holds a worker forever (a connector that hangs in C code, a slow-drip server the
connector's own deadline somehow missed):

- at the **soft** limit (``FLOWGATE_TASK_SOFT_TIME_LIMIT``) a ``SIGALRM`` raises Celery's
  ``SoftTimeLimitExceeded`` in the task: the running step is recorded as a failed attempt and
  retried (apps/engine/runtime/failures.py);
- at the **hard** limit (``FLOWGATE_TASK_TIME_LIMIT``) ``faulthandler``'s watchdog thread, which
  needs no GIL and so also fires while the task is stuck in C code, writes the task's stack to
  stderr and ends the process; the pool starts a new one, the job's lease expires and the sweeper
  hands the job out again.

Celery's own ``task_soft_time_limit``/``task_time_limit`` do the same from the pool's parent
process, at a cost measured in docs/benchmarks/engine-profile.md (an acknowledgement and two
timers per task in the parent's event loop: about a fifth of a worker's throughput on the
benchmark process). Only tasks on a process's main thread are bounded here (prefork and solo
pools), as with Celery's limits, which the threads pool does not support either.
"""

from __future__ import annotations

import faulthandler
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from celery.exceptions import SoftTimeLimitExceeded

# What SIGALRM did before the running task's limits were armed (its handler, and a timer still
# to run, with when it was read), put back when they are disarmed: a host such as
# pytest-timeout may use it too.
_previous: list[tuple] = []
STDERR_FD = 2  # where the hard limit writes the task's stack before the process ends


def _soft_limit_reached(signum, frame) -> None:
    raise SoftTimeLimitExceeded()


def can_bound() -> bool:
    """Whether a task running here can be bounded (the main thread of a POSIX process)."""
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


def start(*, soft: float, hard: float) -> bool:
    """Arm both limits for the task about to run. Returns False when they cannot be armed here."""
    if not can_bound():
        return False
    handler = signal.signal(signal.SIGALRM, _soft_limit_reached)
    delay, _interval = signal.setitimer(signal.ITIMER_REAL, soft)
    if not _previous:
        _previous.append((handler, delay, time.monotonic()))
    # fd 2, not sys.stderr: a Celery worker replaces sys.stderr by a logging proxy with no file
    faulthandler.dump_traceback_later(hard, exit=True, file=STDERR_FD)
    return True


def stop() -> None:
    """Disarm both limits (the task ended, however it ended)."""
    if not can_bound():
        return
    signal.setitimer(signal.ITIMER_REAL, 0)
    faulthandler.cancel_dump_traceback_later()
    if _previous:
        handler, delay, at = _previous.pop()
        signal.signal(signal.SIGALRM, handler)
        if delay:  # the host's own alarm, less the time the task took (at least a moment)
            signal.setitimer(signal.ITIMER_REAL, max(delay - (time.monotonic() - at), 0.001))


@contextmanager
def bounded(*, soft: float, hard: float) -> Iterator[None]:
    """Run the block under both limits."""
    armed = start(soft=soft, hard=hard)
    try:
        yield
    finally:
        if armed:
            stop()
