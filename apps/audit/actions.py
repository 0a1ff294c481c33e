"""Every auditable action. The audit app documents each in docs/audit.md."""

from enum import StrEnum


class AuditAction(StrEnum):
    # processes
    PROCESS_DEPLOYED = "process.deployed"
    PROCESS_DRAFT_SAVED = "process.draft_saved"
    PROCESS_VIEW_GRANTED = "process.view_granted"
    PROCESS_VIEW_REVOKED = "process.view_revoked"
    # decisions (DMN)
    DECISION_DEPLOYED = "decision.deployed"
    DECISION_EVALUATED = "decision.evaluated"
    # instances
    INSTANCE_STARTED = "instance.started"
    INSTANCE_COMPLETED = "instance.completed"
    INSTANCE_CANCELLED = "instance.cancelled"
    INSTANCE_SUSPENDED = "instance.suspended"
    INSTANCE_RESUMED = "instance.resumed"
    INSTANCE_FAILED = "instance.failed"
    INSTANCE_VARIABLE_SET = "instance.variable_set"
    INSTANCE_TOKEN_MOVED = "instance.token_moved"  # noqa: S105 (an action name)
    INSTANCE_MIGRATED = "instance.migrated"
    COMPENSATION_STARTED = "compensation.started"
    COMPENSATION_HANDLER = "compensation.handler"  # one activation undone (its handler finished)
    COMPENSATION_FINISHED = "compensation.finished"
    STEP_ENTERED = "step.entered"
    STEP_COMPLETED = "step.completed"
    # jobs / incidents
    JOB_ATTEMPTED = "job.attempted"
    JOB_SUCCEEDED = "job.succeeded"
    JOB_FAILED = "job.failed"
    JOB_DEFERRED = "job.deferred"
    INCIDENT_OPENED = "incident.opened"
    INCIDENT_RETRIED = "incident.retried"
    INCIDENT_RESOLVED = "incident.resolved"
    TIMER_FIRED = "timer.fired"
    MESSAGE_CORRELATED = "message.correlated"
    # human tasks
    TASK_CREATED = "task.created"
    TASK_CLAIMED = "task.claimed"
    TASK_UNCLAIMED = "task.unclaimed"
    TASK_DELEGATED = "task.delegated"
    TASK_COMPLETED = "task.completed"
    TASK_APPROVED = "task.approved"
    TASK_REJECTED = "task.rejected"
    TASK_AT_RISK = "task.at_risk"  # its SLA warning time passed (notified once)
    TASK_ESCALATED = "task.escalated"
    TASK_REASSIGNED = "task.reassigned"
    TASK_INFO_REQUESTED = "task.info_requested"  # sent back to the requester (SLA paused)
    TASK_INFO_PROVIDED = "task.info_provided"  # the requester answered (SLA runs again)
    TASK_RESOLVED = "task.resolved"  # a delegate resolved a delegated task (back to its owner)
    REQUEST_COMMENTED = "request.commented"
    REQUEST_ATTACHMENT_ADDED = "request.attachment_added"
    SUBSTITUTION_SET = "substitution.set"
    SUBSTITUTION_ENDED = "substitution.ended"
    # security / administration
    LOGIN = "auth.login"
    LOGOUT = "auth.logout"
    LOGIN_FAILED = "auth.login_failed"
    PERMISSION_CHANGED = "admin.permission_changed"
    SETTINGS_CHANGED = "admin.settings_changed"
    TOKEN_CREATED = "auth.token_created"  # noqa: S105 (an action name)
    TOKEN_REVOKED = "auth.token_revoked"  # noqa: S105
    SECRET_CHANGED = "connector.secret_changed"  # noqa: S105
    RETENTION_PURGED = "retention.purged"  # finished instances archived, then their rows purged
    CIRCUIT_OPENED = "connector.circuit_opened"  # an HTTP target failed N times in a row
    CIRCUIT_CLOSED = "connector.circuit_closed"  # a probe succeeded, or an admin closed it
    AUDIT_EXPORTED = "audit.exported"
    AUDIT_VERIFIED = "audit.verified"
    AUDIT_EVENT_REFUSED = "audit.event_refused"  # the linker met a row record() did not write
    AUDIT_EVENTS_ARCHIVED = "audit.events_archived"  # archived events removed under a checkpoint
