"""The engine's public actions. Callers (views, APIs, Celery tasks, other apps) import from here.

Each action lives in the runtime module of its concern (``apps/engine/runtime/``, mapped in its
``__init__``): every action that advances an instance locks its row, lets ``apps.engine.core``
advance it, persists the effects and writes audit events in the same transaction, and rings for
workers only after commit.
"""

from __future__ import annotations

from apps.engine.operator_services import instance_cancel_with_compensation
from apps.engine.runtime.continuation import job_run
from apps.engine.runtime.hooks import (
    instance_advanced,
    job_announced,
    job_stub,
    migration_run_announced,
    ring_after_commit,
    step_reactivated,
    user_tasks_changed,
)
from apps.engine.runtime.incidents import (
    actor_user,
    incident_retry,
    open_incident,
    retry_delay_seconds,
)
from apps.engine.runtime.instances import (
    instance_cancel,
    instance_resume,
    instance_start,
    instance_suspend,
    user_task_complete,
    version_latest_deployed,
)
from apps.engine.runtime.jobs import job_claim, jobs_sweep
from apps.engine.runtime.messages import message_correlate
from apps.engine.runtime.state import (
    SCHEDULER_ACTOR,
    WORKER_ACTOR,
    Advance,
    check_variables,
    instance_lock,
)
from apps.engine.runtime.timer_pause import user_task_timers_pause, user_task_timers_resume
from apps.engine.runtime.timers import (
    start_schedules_create,
    start_schedules_fire_due,
    timers_fire_due,
)

__all__ = [
    "SCHEDULER_ACTOR",
    "WORKER_ACTOR",
    "Advance",
    "actor_user",
    "check_variables",
    "incident_retry",
    "open_incident",
    "instance_cancel",
    "instance_cancel_with_compensation",
    "instance_lock",
    "instance_resume",
    "instance_start",
    "instance_suspend",
    "job_claim",
    "job_run",
    "jobs_sweep",
    "message_correlate",
    "retry_delay_seconds",
    "ring_after_commit",
    "start_schedules_create",
    "start_schedules_fire_due",
    "timers_fire_due",
    "user_task_complete",
    "user_task_timers_pause",
    "user_task_timers_resume",
    "instance_advanced",
    "job_announced",
    "job_stub",
    "migration_run_announced",
    "step_reactivated",
    "user_tasks_changed",
    "version_latest_deployed",
]
