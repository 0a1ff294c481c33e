"""What the pages show for an event: a human label per action (the code stays the filter value
and is shown beside it) and a readable name for a process version (its number, not its id)."""

from __future__ import annotations

from collections.abc import Iterable

from apps.audit.actions import AuditAction
from apps.common.hooks import RAISE, hook

ACTION_LABELS: dict[str, str] = {
    AuditAction.PROCESS_DEPLOYED: "Process deployed",
    AuditAction.PROCESS_DRAFT_SAVED: "Draft saved",
    AuditAction.PROCESS_VIEW_GRANTED: "Process access granted",
    AuditAction.PROCESS_VIEW_REVOKED: "Process access revoked",
    AuditAction.DECISION_DEPLOYED: "Decision deployed",
    AuditAction.DECISION_EVALUATED: "Decision evaluated",
    AuditAction.INSTANCE_STARTED: "Request started",
    AuditAction.INSTANCE_COMPLETED: "Request completed",
    AuditAction.INSTANCE_CANCELLED: "Request cancelled",
    AuditAction.INSTANCE_SUSPENDED: "Request suspended",
    AuditAction.INSTANCE_RESUMED: "Request resumed",
    AuditAction.INSTANCE_FAILED: "Request failed",
    AuditAction.INSTANCE_VARIABLE_SET: "Variable changed",
    AuditAction.INSTANCE_TOKEN_MOVED: "Moved back to an earlier step",
    AuditAction.INSTANCE_MIGRATED: "Moved to another version",
    AuditAction.COMPENSATION_STARTED: "Compensation started",
    AuditAction.COMPENSATION_HANDLER: "Completed step undone",
    AuditAction.COMPENSATION_FINISHED: "Compensation finished",
    AuditAction.STEP_ENTERED: "Step entered",
    AuditAction.STEP_COMPLETED: "Steps completed",
    AuditAction.JOB_ATTEMPTED: "Automatic step attempted",
    AuditAction.JOB_SUCCEEDED: "Automatic step done",
    AuditAction.JOB_FAILED: "Automatic step failed",
    AuditAction.JOB_DEFERRED: "Automatic step waits (circuit, limit or Retry-After)",
    AuditAction.INCIDENT_OPENED: "Incident opened",
    AuditAction.INCIDENT_RETRIED: "Incident retried",
    AuditAction.INCIDENT_RESOLVED: "Incident resolved",
    AuditAction.TIMER_FIRED: "Timer fired",
    AuditAction.MESSAGE_CORRELATED: "Message received",
    AuditAction.TASK_CREATED: "Task created",
    AuditAction.TASK_CLAIMED: "Task claimed",
    AuditAction.TASK_UNCLAIMED: "Task released",
    AuditAction.TASK_DELEGATED: "Task delegated",
    AuditAction.TASK_COMPLETED: "Task completed",
    AuditAction.TASK_APPROVED: "Approved",
    AuditAction.TASK_REJECTED: "Rejected",
    AuditAction.TASK_AT_RISK: "Task at risk of missing its deadline",
    AuditAction.TASK_ESCALATED: "Task escalated",
    AuditAction.TASK_REASSIGNED: "Task reassigned",
    AuditAction.TASK_RESOLVED: "Delegated task resolved",
    AuditAction.TASK_INFO_REQUESTED: "More information requested from the requester",
    AuditAction.TASK_INFO_PROVIDED: "The requester answered",
    AuditAction.REQUEST_COMMENTED: "Comment added",
    AuditAction.REQUEST_ATTACHMENT_ADDED: "Attachment added",
    AuditAction.SUBSTITUTION_SET: "Substitute set",
    AuditAction.SUBSTITUTION_ENDED: "Substitution ended",
    AuditAction.LOGIN: "Signed in",
    AuditAction.LOGOUT: "Signed out",
    AuditAction.LOGIN_FAILED: "Sign-in failed",
    AuditAction.PERMISSION_CHANGED: "Permissions changed",
    AuditAction.SETTINGS_CHANGED: "Settings changed",
    AuditAction.RETENTION_PURGED: "Finished requests archived and purged",
    AuditAction.TOKEN_CREATED: "API token created",
    AuditAction.TOKEN_REVOKED: "API token revoked",
    AuditAction.SECRET_CHANGED: "Connector secret changed",
    AuditAction.CIRCUIT_OPENED: "Connector circuit opened",
    AuditAction.CIRCUIT_CLOSED: "Connector circuit closed",
    AuditAction.AUDIT_EXPORTED: "Audit trail exported",
    AuditAction.AUDIT_VERIFIED: "Audit chain verified",
    AuditAction.AUDIT_EVENT_REFUSED: "Event not written by Flowgate refused",
    AuditAction.AUDIT_EVENTS_ARCHIVED: "Archived audit events removed under a checkpoint",
}
GROUP_LABELS: dict[str, str] = {
    "process": "Processes",
    "instance": "Requests",
    "step": "Steps",
    "job": "Automatic steps",
    "incident": "Incidents",
    "timer": "Timers",
    "message": "Messages",
    "task": "Tasks",
    "request": "Comments and attachments",
    "substitution": "Substitutions",
    "auth": "Sign-in and API tokens",
    "admin": "Administration",
    "connector": "Connectors",
    "audit": "Audit trail",
}


def action_label(code: str) -> str:
    """The label of an action code; an unknown code (from a newer or older release) as is."""
    return ACTION_LABELS.get(code, code)


# Who names process versions: the processes app registers at start-up (it sits above the audit
# trail, which imports none of it). ``source(version ids)`` -> {id: (process name, number)}.
@hook("audit.version_names", errors=RAISE)
def version_names(version_ids: list[int]) -> dict[int, tuple[str, int]]:
    """{version id: (process name, number)} for the versions the receiver knows."""
    raise NotImplementedError  # a prototype: never called


def version_labels(version_ids: Iterable[int | None]) -> dict[int, str]:
    """{version id: "<process name> v<number>"}; a version nobody can name reads "version id N"
    (events outlive what they describe)."""
    ids = sorted({pk for pk in version_ids if pk is not None})
    found: dict[int, tuple[str, int]] = {}
    for named in version_names.send(ids):
        found.update(named)
    return {
        pk: f"{found[pk][0]} v{found[pk][1]}" if pk in found else f"version id {pk}" for pk in ids
    }
