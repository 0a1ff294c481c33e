"""Inbox and request writes, one module per concern (callers import from here):

- ``tasks``: claim, unclaim, delegate (and resolve), reassign, complete / approve / reject
  (four-eyes, reject comment), bulk approve;
- ``requests``: start and cancel a request, comments, attachments;
- ``info``: "more information needed" (sent back to the requester, SLA paused) and the answer;
- ``people``: out-of-office substitutions, notification settings, SLA escalation, the live feed's
  pruning;
- ``steps``: what those share (lock an open task the user may work on, require eligibility,
  announce and audit a change, look up an active user).

Lock order everywhere: the instance row (engine.instance_lock), then the task row.
"""

from __future__ import annotations

from apps.inbox.services.info import task_info_provide, task_info_request
from apps.inbox.services.people import (
    inbox_events_prune,
    notification_settings_update,
    substitution_end,
    substitution_set,
    tasks_escalate_due,
    tasks_warn_at_risk,
)
from apps.inbox.services.requests import (
    DEFAULT_ATTACHMENT_TYPES,
    attachment_add,
    attachment_limits,
    comment_add,
    request_cancel,
    request_start,
)
from apps.inbox.services.tasks import (
    MAX_COMMENT,
    BulkResult,
    four_eyes_message,
    task_claim,
    task_complete,
    task_delegate,
    task_reassign,
    task_unclaim,
    tasks_bulk_approve,
)

__all__ = [
    "DEFAULT_ATTACHMENT_TYPES",
    "MAX_COMMENT",
    "BulkResult",
    "attachment_add",
    "attachment_limits",
    "comment_add",
    "four_eyes_message",
    "inbox_events_prune",
    "notification_settings_update",
    "request_cancel",
    "request_start",
    "substitution_end",
    "substitution_set",
    "task_claim",
    "task_complete",
    "task_delegate",
    "task_info_provide",
    "task_info_request",
    "task_reassign",
    "task_unclaim",
    "tasks_bulk_approve",
    "tasks_escalate_due",
    "tasks_warn_at_risk",
]
