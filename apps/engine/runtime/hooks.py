"""What the engine tells the layers above it, without importing them.

Outlets, each filled in at start-up by the app that owns the other side:

- the **doorbell**: after commit, "look at job N" for a worker. ``apps.engine.tasks`` installs the
  Celery task; until it does (or when the broker is down) nothing is lost: the rows are the truth
  and the sweeper rings again for due jobs.
- **user-task listeners**: inside the instance lock, the user tasks the engine now waits on. The
  inbox registers the one that keeps its HumanTask rows (``apps.inbox.apps``).
- **advance listeners**: inside the instance lock, after every advance of an existing instance
  has been written (its completed tasks and finished jobs included), with the activities it
  stepped through and whether the instance ended. The reports app keeps its fact tables with one
  (``apps.reports.apps``, decision 017); the inbox lets the requester's pages update live with
  another (``apps.inbox.live.publish_instance_changed``).
- **job stubs**: the designer's test runs answer some service tasks with a fixed result.

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


_doorbell: Doorbell | None = None
_user_task_listeners: list[UserTaskListener] = []


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


class AdvanceListener(Protocol):
    def __call__(
        self,
        *,
        instance: Any,
        now: datetime,
        actor: Actor,
        steps: Sequence[Any],
        finished: bool,
        by_worker: bool,
    ) -> Any: ...


_advance_listeners: list[AdvanceListener] = []


def advance_listener_register(listener: AdvanceListener) -> None:
    """Called once at start-up by an app that follows every advance (idempotent)."""
    if listener not in _advance_listeners:
        _advance_listeners.append(listener)


def instance_advanced(
    *,
    instance: Any,
    now: datetime,
    actor: Actor,
    steps: Sequence[Any],
    finished: bool,
    by_worker: bool,
) -> None:
    """Tell the listeners that ``instance`` advanced: through the activities ``steps`` (empty when
    the caller audits its own steps), whether it has ``finished``, and whether a worker's job
    result moved it (``by_worker``: then jobs finished, and no user task was completed). Requires:
    the instance row is locked; listeners write in the same transaction."""
    for listener in _advance_listeners:
        listener(
            instance=instance,
            now=now,
            actor=actor,
            steps=steps,
            finished=finished,
            by_worker=by_worker,
        )


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


# A job's result may come from a fixed stub instead of its connector (the designer's test runs
# stub some service tasks and run others for real, also on the workers). A resolver answers a
# result dict for a job it stubs, else None.
JobStubResolver = Callable[[Any], "dict | None"]
_job_stub_resolvers: list[JobStubResolver] = []


def job_stub_register(resolver: JobStubResolver) -> None:
    """Called once at start-up by the app that stubs jobs (idempotent)."""
    if resolver not in _job_stub_resolvers:
        _job_stub_resolvers.append(resolver)


def job_stub_for(job: Any) -> dict | None:
    """The stub result of ``job``, or None when its connector is to run."""
    for resolver in _job_stub_resolvers:
        result = resolver(job)
        if result is not None:
            return dict(result)
    return None
