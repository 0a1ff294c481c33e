"""What the BPMN model says about requests and approvals, read from a deployed version's XML.

The engine core carries what it needs to run a task (candidates, due date, form, approval flag);
the inbox needs a few more facts that only matter to people: who may start a process, its
category and start form, SLA warning/breach durations, the reject-comment rule, the extra
four-eyes person, the escalation action and the N of an N-of-M approval. They are read once per
version (cached by checksum) from these attributes (Camunda 7 spellings where one exists):

process:   flowgate:category, flowgate:candidateStarterGroups (camunda:candidateStarterGroups),
           flowgate:candidateStarterUsers, flowgate:cancellable="false",
           bpmn:documentation (catalog description)
start:     <flowgate:form> on the none start event (the catalog's start form); a process without
           a none start event (only message / timer / signal starts: webhooks, schedules) is
           not in the catalog
summary:   flowgate:summary="{amount} — {description}" on the process: the line an inbox row
           shows about the request (variables in braces; model_rules.request_summary);
           flowgate:businessKeyPrefix="EXP" (catalog starts get EXP-000123)
user task: flowgate:slaWarning="PT20H", flowgate:slaBreach="P1D" (also flowgate:dueDate);
           the two SLA attributes may be business time: "4 business hours", "2 business days",
           counted by the task's flowgate:calendar, else the process's, else the portal default
           (apps.calendars; docs/calendars.md),
           flowgate:commentRequiredOnReject="true" (alias flowgate:rejectCommentRequired),
           flowgate:fourEyes="false" (turns the requester rule off; default on for approvals;
           any other value, such as the designer's "requester", keeps it on),
           flowgate:fourEyesUser="${cost_owner}" (a variable naming one more user who may not
           approve), flowgate:escalation="notify:manager" | "reassign:manager" | "none",
           flowgate:allowSameApprover="true" (whoever approved another approval step of the
           request may decide this one too; off by default: one person, one approval level),
           completionCondition "nrOfApproved >= 2" on a multi-instance approval.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from typing import Any

from apps.engine.core.business_time import BusinessDuration, parse_business_duration
from apps.engine.core.timers import TimerValueError, fixed_duration
from apps.engine.core.xml import parse_xml
from apps.processes.start_rules import StartRestriction, starters_of

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
FLOWGATE_NS = "http://flowgate.dev/schema/bpmn/1.0"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
NS = {"bpmn": BPMN_NS, "flowgate": FLOWGATE_NS, "camunda": CAMUNDA_NS}

_APPROVALS_NEEDED = re.compile(r"nrOfApproved\s*>=\s*(\d+)")


def parse_duration(text: str | None) -> timedelta | None:
    """An ISO-8601 duration of fixed length (PnW, PnDTnHnMnS) as a timedelta; None when absent
    or not one. Read by the engine's one ISO-8601 reader (``engine.core.timers``)."""
    if not text:
        return None
    try:
        return fixed_duration(text)
    except TimerValueError:
        return None


@dataclass(frozen=True)
class TaskRules:
    sla_warning: timedelta | None = None
    sla_breach: timedelta | None = None
    # the same thresholds given in business time (then the timedeltas above are None)
    sla_warning_business: BusinessDuration | None = None
    sla_breach_business: BusinessDuration | None = None
    calendar: str = ""  # flowgate:calendar on the task: overrides the process's
    # flowgate:dueDate is set: the task's due date (and breach) is the engine's value, wall-clock
    has_due_date: bool = False
    comment_required_on_reject: bool = False
    four_eyes: bool = True
    four_eyes_variable: str = ""
    escalation: str = ""  # "notify:<role>", "reassign:<role>" or ""
    approvals_needed: int | None = None  # N of an N-of-M multi-instance approval
    allow_same_approver: bool = False  # flowgate:allowSameApprover="true"
    # ids of the interrupting timer boundary events on the task (an escalation path in the model)
    boundary_timers: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProcessRules:
    name: str = ""
    category: str = ""
    description: str = ""
    starter_groups: tuple[str, ...] = ()
    starter_users: tuple[str, ...] = ()
    cancellable: bool = True
    start_form: dict | None = None
    tasks: dict[str, TaskRules] = field(default_factory=dict)
    # activity id -> its name in the model (only the named ones), for pages that show steps
    activity_names: dict[str, str] = field(default_factory=dict)
    # a none start event (no message, timer, signal or condition): people may start it
    human_start: bool = False
    summary_template: str = ""
    business_key_prefix: str = ""
    calendar: str = ""  # flowgate:calendar on the process: its tasks' business calendar

    def task(self, activity_id: str) -> TaskRules:
        return self.tasks.get(activity_id, TaskRules())

    def may_start(self, *, username: str, roles: set[str]) -> bool:
        """The catalog's question (to list what a user may start); the start service itself
        asks apps.processes.start_rules, from the same attributes, on every start."""
        return StartRestriction(self.starter_groups, self.starter_users).allows(
            username=username, roles=roles
        )


def _attr(node: Any, name: str) -> str | None:
    value = node.get(f"{{{FLOWGATE_NS}}}{name}")
    return value if value is not None else node.get(f"{{{CAMUNDA_NS}}}{name}")


def _truthy(text: str | None) -> bool:
    return (text or "").strip().lower() in ("true", "yes", "1")


def _falsy(text: str | None) -> bool:
    return (text or "").strip().lower() in ("false", "no", "0", "off", "none")


def _variable_name(text: str | None) -> str:
    value = (text or "").strip()
    if value.startswith(("${", "#{")) and value.endswith("}"):
        value = value[2:-1].strip()
    return value if value.isidentifier() else ""


def _form(node: Any) -> dict | None:
    found = node.find("bpmn:extensionElements/flowgate:form", NS)
    if found is None or not (found.text or "").strip():
        return None
    try:
        schema = json.loads(found.text)
    except ValueError:
        return None
    return schema if isinstance(schema, dict) else None


def _boundary_timers(process: Any) -> dict[str, tuple[str, ...]]:
    """activity id -> the interrupting timer boundary events attached to it."""
    found: dict[str, list[str]] = {}
    for event in process.iter(f"{{{BPMN_NS}}}boundaryEvent"):
        if event.find("bpmn:timerEventDefinition", NS) is None:
            continue
        if (event.get("cancelActivity") or "true").strip().lower() == "false":
            continue
        found.setdefault(event.get("attachedToRef") or "", []).append(event.get("id") or "")
    return {key: tuple(ids) for key, ids in found.items()}


def _task_rules(node: Any, boundary_timers: tuple[str, ...] = ()) -> TaskRules:
    warning = parse_duration(_attr(node, "slaWarning"))
    breach = parse_duration(_attr(node, "slaBreach")) or parse_duration(_attr(node, "dueDate"))
    warning_business = parse_business_duration(_attr(node, "slaWarning"))
    breach_business = parse_business_duration(_attr(node, "slaBreach"))
    four_eyes_attr = _attr(node, "fourEyes")
    needed = None
    condition = node.find("bpmn:multiInstanceLoopCharacteristics/bpmn:completionCondition", NS)
    if condition is not None and condition.text:
        match = _APPROVALS_NEEDED.search(condition.text)
        needed = int(match.group(1)) if match else None
    return TaskRules(
        sla_warning=warning,
        sla_breach=breach,
        sla_warning_business=warning_business,
        sla_breach_business=breach_business if breach is None else None,
        calendar=(_attr(node, "calendar") or "").strip(),
        has_due_date=bool((_attr(node, "dueDate") or "").strip()),
        comment_required_on_reject=_truthy(
            _attr(node, "commentRequiredOnReject") or _attr(node, "rejectCommentRequired")
        ),
        # Only an explicit "false" turns four-eyes off: the designer and the demo models write
        # fourEyes="requester", which must keep the requester from approving.
        four_eyes=not _falsy(four_eyes_attr),
        four_eyes_variable=_variable_name(_attr(node, "fourEyesUser")),
        escalation=(_attr(node, "escalation") or "").strip(),
        approvals_needed=needed,
        allow_same_approver=_truthy(_attr(node, "allowSameApprover")),
        boundary_timers=boundary_timers,
    )


@lru_cache(maxsize=256)
def _rules_for_xml(checksum: str, xml: str, process_key: str) -> ProcessRules:
    del checksum  # the cache key; the XML of a version never changes
    root = parse_xml(xml)
    process = None
    for candidate in root.iterfind("bpmn:process", NS):
        if candidate.get("id") == process_key or process is None:
            process = candidate
    if process is None:
        return ProcessRules()
    documentation = process.find("bpmn:documentation", NS)
    start_form = None
    for start in process.iterfind("bpmn:startEvent", NS):
        if len(start) and start.find("bpmn:messageEventDefinition", NS) is None:
            start_form = _form(start)
            if start_form:
                break
    human_start = any(
        not any(
            isinstance(child.tag, str) and child.tag.endswith("EventDefinition") for child in start
        )
        for start in process.iterfind("bpmn:startEvent", NS)
    )
    timers = _boundary_timers(process)
    starters = starters_of(process)  # the same reading the start service applies
    tasks = {
        node.get("id"): _task_rules(node, timers.get(node.get("id"), ()))
        for node in process.iter(f"{{{BPMN_NS}}}userTask")
        if node.get("id")
    }
    return ProcessRules(
        name=process.get("name") or "",
        category=(_attr(process, "category") or "").strip(),
        description=(documentation.text or "").strip() if documentation is not None else "",
        starter_groups=starters.groups,
        starter_users=starters.users,
        cancellable=_attr(process, "cancellable") is None or _truthy(_attr(process, "cancellable")),
        start_form=start_form,
        tasks=tasks,
        activity_names={
            node.get("id"): node.get("name").strip()
            for node in process.iter()
            if isinstance(node.tag, str)
            and node is not process
            and node.get("id")
            and (node.get("name") or "").strip()
        },
        human_start=human_start,
        summary_template=(_attr(process, "summary") or "").strip()[:500],
        business_key_prefix=_key_prefix(_attr(process, "businessKeyPrefix")),
        calendar=(_attr(process, "calendar") or "").strip(),
    )


_PREFIX = re.compile(r"[A-Z][A-Z0-9]{0,9}")


def _key_prefix(text: str | None) -> str:
    """The model's business key prefix when it is 1-10 capitals and digits ("" otherwise)."""
    value = (text or "").strip().upper()
    return value if _PREFIX.fullmatch(value) else ""


_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]{0,99})\}")
MAX_SUMMARY = 200


def request_summary(template: str, variables: dict) -> str:
    """The model's summary template over the request's variables: each {name} becomes the
    variable's text (missing ones become empty), nothing else is evaluated (no attribute access,
    no format specs: a plain substitution), and the result is one line of at most MAX_SUMMARY
    characters. Escaping is the page's job."""
    if not template:
        return ""

    def value(match: re.Match) -> str:
        found = variables.get(match.group(1))
        if found is None or isinstance(found, dict | list):
            return ""
        return str(found)[:MAX_SUMMARY]

    text = " ".join(_PLACEHOLDER.sub(value, template).split())
    return text[: MAX_SUMMARY - 1] + "…" if len(text) > MAX_SUMMARY else text


def activity_labels(version, activity_ids) -> list[dict[str, str]]:
    """Each activity id with its name in the version's model (the id when it has none), so a
    page can show names and keep the id as secondary text."""
    names = rules_for_version(version).activity_names
    return [{"id": a, "name": names.get(a) or a} for a in activity_ids]


def rules_for_version(version) -> ProcessRules:
    """The rules of a ProcessVersion (needs ``xml``, ``checksum`` and its definition's key)."""
    try:
        return _rules_for_xml(version.checksum, version.xml, version.definition.key)
    except Exception:  # a deployed version parsed once already; never break an inbox on it
        return ProcessRules()
