"""The words people read for a model's parts: element kinds, the properties the designer's
properties panel sets, and the process's audit events. Pages show these labels (the raw name
stays beside them, small, for people who know the file)."""

from __future__ import annotations

#: What a person calls each kind of element (the designer's palette names).
ELEMENT_TYPES = {
    "process": "Process",
    "startEvent": "Start event",
    "endEvent": "End event",
    "intermediateCatchEvent": "Waiting event",
    "intermediateThrowEvent": "Event",
    "boundaryEvent": "Boundary event",
    "task": "Task",
    "userTask": "User task",
    "manualTask": "Manual task",
    "serviceTask": "Service task",
    "sendTask": "Send task",
    "receiveTask": "Receive task",
    "scriptTask": "Script task",
    "businessRuleTask": "Business rule task",
    "callActivity": "Call activity",
    "subProcess": "Subprocess",
    "exclusiveGateway": "Decision",
    "inclusiveGateway": "Inclusive decision",
    "parallelGateway": "Parallel split",
    "eventBasedGateway": "Event decision",
    "sequenceFlow": "Path",
    "message": "Message",
    "error": "Error",
    "signal": "Signal",
    "escalation": "Escalation",
    "lane": "Lane",
}

#: Properties as the properties panel names them.
PROPERTY_LABELS = {
    "name": "Name",
    "type": "Kind of element",
    "condition": "Condition",
    "documentation": "Description",
    "default": "Default path",
    "sourceRef": "From",
    "targetRef": "To",
    "isExecutable": "Executable",
    "calledElement": "Called process",
    "attachedToRef": "Attached to",
    "cancelActivity": "Interrupts the task",
    "messageRef": "Message",
    "flowgate:connector": "Connector",
    "flowgate:candidateGroups": "Roles who may do it",
    "flowgate:candidateUsers": "People who may do it",
    "flowgate:assignee": "Assignee",
    "flowgate:dueDate": "Due date",
    "flowgate:priority": "Priority",
    "flowgate:approval": "Approval step",
    "flowgate:outcomeVariable": "Outcome variable",
    "flowgate:maxAttempts": "Attempts before an incident",
    "flowgate:slaWarning": "SLA warning after",
    "flowgate:slaBreach": "SLA breached after",
    "flowgate:rejectCommentRequired": "Comment required on reject",
    "flowgate:fourEyes": "Four-eyes rule",
    "flowgate:calledVersion": "Called version",
    "flowgate:correlationKey": "Correlation key",
    "flowgate:collection": "For each item of",
    "flowgate:elementVariable": "Item variable",
    "flowgate:category": "Catalog category",
    "flowgate:form": "Form",
    "flowgate:errorCode": "Error code",
    "multiInstanceLoopCharacteristics": "Repeat (multi-instance)",
    "timerEventDefinition": "Timer",
    "messageEventDefinition": "Message trigger",
    "errorEventDefinition": "Error trigger",
    "signalEventDefinition": "Signal trigger",
    "escalationEventDefinition": "Escalation trigger",
    "loopCharacteristics": "Loop",
}

#: The process's own audit events, as its history lists them.
EVENT_LABELS = {
    "process.deployed": "Deployed",
    "process.draft_saved": "Deploy refused: kept as a draft",
    "process.view_granted": "Shared (view access given)",
    "process.view_revoked": "View access taken back",
    "instance.started": "Request started",
    "instance.completed": "Request completed",
    "instance.cancelled": "Request cancelled",
    "task.created": "Task created",
    "task.completed": "Task completed",
    "task.approved": "Approved",
    "task.rejected": "Rejected",
    "task.escalated": "Task escalated",
}


def element_type_label(kind: str) -> str:
    return ELEMENT_TYPES.get(kind, kind[:1].upper() + kind[1:] if kind else "Element")


def property_label(raw: str) -> str:
    """``flowgate:candidateGroups`` -> "Roles who may do it"; an input/output mapping or an
    unknown name in words ("flowgate:input 'amount'" -> "Input 'amount'")."""
    base, _, rest = raw.partition(" ")
    if base in PROPERTY_LABELS:
        return f"{PROPERTY_LABELS[base]} {rest}".strip()
    local = base.split(":", 1)[-1]
    words = "".join(f" {c.lower()}" if c.isupper() else c for c in local).strip()
    return f"{words[:1].upper()}{words[1:]} {rest}".strip()


def event_label(action: str) -> str:
    """``task.created`` -> "Task created" (known events have their own words)."""
    if action in EVENT_LABELS:
        return EVENT_LABELS[action]
    words = action.replace(".", " ").replace("_", " ").strip()
    return words[:1].upper() + words[1:]
