"""Reads the designer pages need from more than one app (processes + engine)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Count

from apps.accounts.roles import ALL_ROLES
from apps.audit.models import AuditEvent
from apps.calendars.models import BusinessCalendar
from apps.connectors.registry import all_connectors
from apps.engine.models import InstanceStatus, ProcessInstance
from apps.processes.labels import event_label
from apps.processes.models import ProcessDefinition, VersionStatus

OPEN_STATUSES = (InstanceStatus.RUNNING, InstanceStatus.SUSPENDED)


def open_instance_counts(*, keys: list[str]) -> dict[str, int]:
    """Running or suspended instances per process key (all versions); test runs are not
    counted."""
    rows = (
        ProcessInstance.objects.filter(
            version__definition__key__in=keys, status__in=OPEN_STATUSES, is_test_run=False
        )
        .values("version__definition__key")
        .annotate(n=Count("id"))
    )
    return {row["version__definition__key"]: row["n"] for row in rows}


MAX_PICKER_USERS = 500


def role_names() -> list[str]:
    """Every role a user task can be offered to (Flowgate's roles and any other group), for
    the role picker."""
    groups = set(Group.objects.values_list("name", flat=True))
    return sorted(groups | {role.value for role in ALL_ROLES})


def calendar_names() -> list[str]:
    """The business calendars' short names, for the calendar fields (docs/calendars.md)."""
    return list(BusinessCalendar.objects.order_by("slug").values_list("slug", flat=True)[:200])


def usernames() -> list[str]:
    """Active users for the candidate-user and assignee pickers (the first 500 by name)."""
    users = get_user_model().objects.filter(is_active=True).order_by("username")
    return list(users.values_list("username", flat=True)[:MAX_PICKER_USERS])


def _input_field(name: str, spec: dict, *, required: bool) -> dict:
    """One input of a connector's parameter schema as the designer's input field shows it."""
    kind = spec.get("type")
    examples = spec.get("examples") or []
    enum = spec.get("enum") or []
    return {
        "name": name,
        "required": required,
        "description": str(spec.get("description", ""))[:200],
        "type": kind if isinstance(kind, str) else "",
        # Inputs are expressions: an example or a choice is offered as a literal.
        "example": repr(examples[0])[:120] if examples else "",
        "choices": [repr(value) for value in enum][:20],
    }


def connector_fields() -> list[dict]:
    """The registered connectors with the inputs their own parameter schema declares: the
    properties panel shows one field per declared input (required ones marked)."""
    result = []
    for connector in all_connectors():
        schema = connector.config_schema or {}
        properties = schema.get("properties") or {}
        required = set(schema.get("required") or [])
        result.append(
            {
                "name": connector.name,
                "label": connector.label or connector.name,
                "description": (connector.description or "")[:300],
                "chainable": connector.chainable,
                "inputs": [
                    _input_field(name, spec or {}, required=name in required)
                    for name, spec in properties.items()
                ],
            }
        )
    return result


def process_choices() -> list[dict]:
    """Deployed processes (key and name) for the call activity's target process field."""
    return [
        dict(row)
        for row in ProcessDefinition.objects.filter(versions__status=VersionStatus.DEPLOYED)
        .distinct()
        .order_by("key")
        .values("key", "name")[:MAX_PICKER_USERS]
    ]


PROCESS_HISTORY = 20


def process_history(*, key: str, limit: int = PROCESS_HISTORY) -> list[dict]:
    """The process's own events (deployed, deploys refused, shared), newest first, each with the
    words a person reads ("Deployed") and its code ("process.deployed") for reference."""
    events = (
        AuditEvent.objects.filter(process_key=key, action__startswith="process.")
        .order_by("-position")
        .only("time", "action", "actor_label", "actor_kind", "data")[:limit]
    )
    return [
        {
            "time": event.time,
            "action": event.action,
            "label": event_label(event.action),
            "actor": event.actor_label or event.actor_kind,
            "number": (event.data or {}).get("number"),
            "comment": (event.data or {}).get("comment") or "",
        }
        for event in events
    ]
