"""What the engine tells (or asks) the layers above it, without importing them.

Every hook is an ``apps.common.hooks.Hook``; the app that owns the other side connects its
receiver in its ``AppConfig.ready()``. Error policy per hook (decision 027):

| hook                 | when it is sent                                     | errors | receivers |
|----------------------|-----------------------------------------------------|--------|-----------|
| ``job_announced``    | after commit: "look at job N" for a worker (doorbell) | LOG  | engine (Celery task, ``apps.engine.apps``) |
| ``user_tasks_changed`` | under the instance lock, in the write's transaction | RAISE | inbox (HumanTask rows) |
| ``instance_advanced`` | under the instance lock, after every advance of an existing instance | RAISE | reports (facts, decision 017), inbox (live pages) |
| ``step_reactivated`` | under the instance lock, when a token moves back     | RAISE  | reports (moves the old HumanTask aside) |
| ``migration_run_announced`` | after commit: "run migration batch N" for a worker | LOG | engine (Celery task, ``apps.engine.apps``) |
| ``job_stub``         | on a worker, before a connector runs (a question)    | RAISE  | designer (test runs' stubs) |

A doorbell that cannot ring (no receiver, broker down) loses nothing: the rows are the truth
and the sweeper rings again for due jobs.

Decision records: docs/decisions/011-layers.md, docs/decisions/027-runtime-write-path.md.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import transaction

from apps.common.actors import Actor
from apps.common.hooks import LOG, RAISE, hook

logger = logging.getLogger(__name__)


@hook("engine.job_announced", errors=LOG)
def job_announced(job_id: int, instance_id: int) -> object:
    """A job is due: a worker should look at it. Sent after commit only."""


@hook("engine.migration_run_announced", errors=LOG)
def migration_run_announced(run_id: int) -> object:
    """A batch migration is queued: a worker should run it. Sent after commit only."""


@hook("engine.user_tasks_changed", errors=RAISE)
def user_tasks_changed(
    *, instance: Any, user_tasks: Sequence[Any], now: datetime, actor: Actor
) -> object:
    """The user tasks ``instance`` now waits on (an empty list: none). Receivers write in the
    same transaction; the instance row is locked."""


@hook("engine.instance_advanced", errors=RAISE)
def instance_advanced(
    *,
    instance: Any,
    now: datetime,
    actor: Actor,
    steps: Sequence[Any],
    finished: bool,
    by_worker: bool,
) -> object:
    """``instance`` advanced: through the activities ``steps`` (empty when the caller audits its
    own steps), whether it has ``finished``, and whether a worker's job result moved it
    (``by_worker``: then jobs finished, and no user task was completed). The instance row is
    locked; receivers write in the same transaction."""


@hook("engine.step_reactivated", errors=RAISE)
def step_reactivated(*, instance_id: int, task_id: str) -> object:
    """A step is activated again under its old engine task id (an instance moved to another
    version): projections keyed by task id move their old row aside so the new activation gets
    a fresh one. (A token move gives the target a new task id and needs no such step.)"""


@hook("engine.job_stub", errors=RAISE)
def job_stub(job: Any) -> dict | None:
    """A fixed result for ``job`` instead of its connector's (the designer's test runs stub some
    service tasks, also on the workers), or None when the connector is to run."""


def ring_after_commit(jobs: Iterable[tuple[int, int]]) -> None:
    """Announce (job id, instance id) pairs to the workers once the transaction commits."""
    pairs = list(jobs)
    if not pairs:
        return

    def send() -> None:
        if not job_announced:
            logger.warning("no doorbell installed; the sweeper will pick up %d job(s)", len(pairs))
            return
        for job_id, instance_id in pairs:  # broker down: logged; the sweeper re-enqueues
            job_announced.send(job_id, instance_id)

    transaction.on_commit(send)
