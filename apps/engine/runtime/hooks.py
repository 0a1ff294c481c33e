"""What the engine tells the layers above it, without importing them.

Two outlets, each filled in at start-up by the app that owns the other side:

- the **doorbell**: after commit, "look at job N" for a worker. ``apps.engine.tasks`` installs the
  Celery task; until it does (or when the broker is down) nothing is lost: the rows are the truth
  and the sweeper rings again for due jobs.
- **user-task listeners**: inside the instance lock, the user tasks the engine now waits on. The
  inbox registers the one that keeps its HumanTask rows (``apps.inbox.apps``).
- **progress listeners**: inside the instance lock, "this instance moved" (an automated step
  finished, the instance ended). The inbox registers the one that lets the requester's page
  update live (``apps.inbox.live.publish_instance_changed``).

Decision record: docs/decisions/011-layers.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

from django.db import transaction

from apps.common.actors import Actor

logger = logging.getLogger(__name__)

Doorbell = Callable[[int, int], Any]


class UserTaskListener(Protocol):
    def __call__(
        self, *, instance: Any, user_tasks: Sequence[Any], now: datetime, actor: Actor
    ) -> Any: ...


class ProgressListener(Protocol):
    def __call__(self, *, instance: Any, actor: Actor) -> Any: ...


_doorbell: Doorbell | None = None
_user_task_listeners: list[UserTaskListener] = []
_progress_listeners: list[ProgressListener] = []


def doorbell_install(ring: Doorbell) -> None:
    """Set how a job is announced to workers: ``ring(job_id, instance_id)``."""
    global _doorbell
    _doorbell = ring


def ring_after_commit(jobs: Iterable[tuple[int, int]]) -> None:
    """Ring the doorbell for (job id, instance id) pairs once the transaction commits."""
    pairs = list(jobs)
    if not pairs:
        return

    def send() -> None:
        if _doorbell is None:
            logger.warning("no doorbell installed; the sweeper will pick up %d job(s)", len(pairs))
            return
        for job_id, instance_id in pairs:
            try:
                _doorbell(job_id, instance_id)
            except Exception:  # broker down: the sweeper re-enqueues from the rows
                logger.warning("could not enqueue job %s; the sweeper will pick it up", job_id)

    transaction.on_commit(send)


def user_task_listener_register(listener: UserTaskListener) -> None:
    """Called once at start-up by the app that projects user tasks (idempotent)."""
    if listener not in _user_task_listeners:
        _user_task_listeners.append(listener)


def user_tasks_changed(
    *, instance: Any, user_tasks: Sequence[Any], now: datetime, actor: Actor
) -> None:
    """Tell the listeners which user tasks ``instance`` now waits on (an empty list: none).
    Requires: the instance row is locked; listeners write in the same transaction."""
    for listener in _user_task_listeners:
        listener(instance=instance, user_tasks=user_tasks, now=now, actor=actor)


def progress_listener_register(listener: ProgressListener) -> None:
    """Called once at start-up by an app that follows instances (idempotent)."""
    if listener not in _progress_listeners:
        _progress_listeners.append(listener)


def instance_progressed(*, instance: Any, actor: Actor) -> None:
    """Tell the listeners that ``instance`` moved on (steps done, or ended).
    Requires: the instance row is locked; listeners write in the same transaction."""
    for listener in _progress_listeners:
        listener(instance=instance, actor=actor)
