"""What an advance produced, for the runtime to persist: the effects of one engine step."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Status = Literal["running", "completed", "cancelled", "error"]
EventKind = Literal["entered", "completed", "cancelled"]


@dataclass(frozen=True)
class CompensationEvent:
    """A compensation started (a throw claimed its activations), undid one activation (its
    handler completed) or finished (decision 034). ``data`` is JSON for the audit trail."""

    kind: Literal["started", "handler", "finished"]
    data: dict[str, Any]


@dataclass(frozen=True)
class UserTaskInfo:
    task_id: str
    activity_id: str
    name: str
    lane: str | None
    candidate_groups: tuple[str, ...]
    candidate_users: tuple[str, ...]
    assignee: str | None
    due: str | None
    priority: int | None
    form: dict[str, Any] | None
    approval: bool
    documentation: str | None
    form_key: str | None = None
    outcome_variable: str = "outcome"
    # The engine id of the multi-instance activity this task is one instance of ("" when it is
    # not): the siblings of one N-of-M approval share it (one decision per person among them).
    multi_instance_id: str = ""


@dataclass(frozen=True)
class ServiceTaskInfo:
    task_id: str
    activity_id: str
    name: str
    connector: str
    inputs: dict[str, Any]
    max_attempts: int


@dataclass(frozen=True)
class TimerInfo:
    task_id: str
    activity_id: str
    due_at: datetime


@dataclass(frozen=True)
class MessageWaitInfo:
    task_id: str
    activity_id: str
    message_name: str
    correlation_key: str | None


@dataclass(frozen=True)
class ActivityEvent:
    kind: EventKind
    task_id: str
    activity_id: str
    activity_type: str
    at: datetime


@dataclass(frozen=True)
class SentMessage:
    name: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Effects:
    status: Status
    variables: dict[str, Any]
    user_tasks: tuple[UserTaskInfo, ...]
    service_tasks: tuple[ServiceTaskInfo, ...]
    timers: tuple[TimerInfo, ...]
    message_waits: tuple[MessageWaitInfo, ...]
    events: tuple[ActivityEvent, ...]
    messages_sent: tuple[SentMessage, ...] = field(default=())
    #: Why the last run stopped before the instance waited (a limit of ``core.limits``), or None.
    #: The instance still has ready steps: ``Instance.resume()`` runs them with a fresh budget.
    halted: str | None = None
    halted_at: str | None = None  # the activity the run stopped at (its id), when it has one
    #: What the compensations of this handle's operations did, oldest first (decision 034).
    compensation: tuple[CompensationEvent, ...] = ()
