"""Reads of the operations console: instance search, one instance's whole picture, incident
groups. Querysets and grouped aggregates only (the pages paginate)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Count, F, Max, Min, Q, QuerySet, Window
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import RowNumber
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.common.errors import InvalidInput
from apps.engine.models import (
    Incident,
    IncidentStatus,
    InstanceStatus,
    Job,
    ProcessInstance,
    Timer,
)
from apps.inbox.models import HumanTask, TaskStatus
from apps.reports.filters import instant

VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")


@dataclass(frozen=True)
class InstanceSearch:
    process_key: str = ""
    version: int | None = None
    status: str = ""
    business_key: str = ""
    variable: str = ""
    value: str = ""
    started_from: datetime | None = None
    started_to: datetime | None = None
    stuck_hours: float | None = None
    waiting_at: str = ""

    @classmethod
    def parse(cls, query: Any) -> InstanceSearch:
        def text(name: str) -> str:
            return (query.get(name) or "").strip()[:200]

        status = text("status")
        if status and status not in InstanceStatus.values:
            raise InvalidInput(
                f"status is one of {', '.join(InstanceStatus.values)}.", code="invalid_filter"
            )
        version = text("version")
        if version and not version.isdigit():
            raise InvalidInput("version is a version number, e.g. 3.", code="invalid_filter")
        variable = text("variable")
        if variable and not VARIABLE_NAME.match(variable):
            raise InvalidInput(
                "variable is a variable name (letters, digits, _).", code="invalid_filter"
            )
        stuck = text("stuck_hours")
        try:
            stuck_hours = float(stuck) if stuck else None
        except ValueError:
            stuck_hours = -1.0
        if stuck_hours is not None and not 0 < stuck_hours <= 24 * 365:
            raise InvalidInput("stuck_hours is a positive number of hours.", code="invalid_filter")
        return cls(
            process_key=text("process_key"),
            version=int(version) if version else None,
            status=status,
            business_key=text("business_key"),
            variable=variable,
            value=text("value"),
            started_from=instant(text("started_from"), "started_from"),
            started_to=instant(text("started_to"), "started_to", end=True),
            stuck_hours=stuck_hours,
            waiting_at=text("waiting_at"),
        )


def _value_matches(name: str, raw: str) -> Q:
    """A variable equal to ``raw`` as text, or as the JSON value it spells (number, bool).

    PostgreSQL: containment of ``{name: value}`` (``@>``), which the GIN index on the variables
    answers (engine migration 0006); for a scalar value containment is equality. SQLite: the
    key's value compared row by row, with the same result."""
    values: list[Any] = [raw]  # (the key's value is the alias ``variable_value`` on SQLite)
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = None
    if isinstance(parsed, bool | int | float):
        values.append(parsed)
    q = Q()
    for value in values:
        if connection.vendor == "postgresql":
            q |= Q(variables__contains={name: value})
        else:
            q |= Q(variable_value=value)
    return q


def instance_search(
    *, search: InstanceSearch, now: datetime | None = None
) -> QuerySet[ProcessInstance]:
    qs = ProcessInstance.objects.select_related("version").defer("state")
    if search.process_key:
        qs = qs.filter(process_key=search.process_key)
    if search.version is not None:
        qs = qs.filter(version__number=search.version)
    if search.status:
        qs = qs.filter(status=search.status)
    if search.business_key:
        qs = qs.filter(business_key=search.business_key)
    if search.variable:
        if search.value:
            # an alias, not ``variables__<name>``: a variable may be called ``contains``
            qs = qs.alias(variable_value=KeyTransform(search.variable, "variables"))
            qs = qs.filter(_value_matches(search.variable, search.value))
        else:
            qs = qs.filter(variables__has_key=search.variable)
    if search.started_from:
        qs = qs.filter(created_at__gte=search.started_from)
    if search.started_to:
        qs = qs.filter(created_at__lt=search.started_to)
    if search.stuck_hours:
        cutoff = (now or timezone.now()) - timedelta(hours=search.stuck_hours)
        qs = qs.filter(
            status__in=[InstanceStatus.RUNNING, InstanceStatus.SUSPENDED], updated_at__lt=cutoff
        )
    if search.waiting_at:
        qs = qs.filter(
            human_tasks__activity_id=search.waiting_at, human_tasks__status=TaskStatus.OPEN
        ).distinct()
    return qs.order_by("-id")


def instance_overview(*, instance: ProcessInstance, audit_limit: int = 200) -> dict[str, Any]:
    """Everything the instance page shows besides the diagram's XML."""
    tasks = list(
        HumanTask.objects.filter(instance=instance)
        .select_related("assignee", "completed_by")
        .order_by("created_at", "pk")
    )
    jobs = list(Job.objects.filter(instance=instance).order_by("pk"))
    return {
        "tasks": tasks,
        "jobs": jobs,
        "timers": list(Timer.objects.filter(instance=instance).order_by("due_at")),
        "incidents": list(
            Incident.objects.filter(instance=instance).select_related("resolved_by").order_by("-pk")
        ),
        "audit": list(
            AuditEvent.objects.filter(instance_id=instance.pk).order_by("position")[:audit_limit]
        ),
        "tokens": sorted(
            {t.activity_id for t in tasks if t.status == TaskStatus.OPEN}
            | {j.activity_id for j in jobs if j.status in ("pending", "running", "incident")}
        ),
        "failed_at": sorted({j.activity_id for j in jobs if j.status == "incident"}),
        "visited": sorted(
            {t.activity_id for t in tasks if t.status == TaskStatus.COMPLETED}
            | {j.activity_id for j in jobs if j.status == "done"}
        ),
    }


def incident_groups(*, process_key: str = "", per_group: int | None = 50) -> list[dict[str, Any]]:
    """Open incidents grouped by process, activity and error message, largest group first; each
    group carries its oldest ``per_group`` incidents (all of them when None). One query: window
    functions count each group and number its rows."""
    qs = Incident.objects.filter(status=IncidentStatus.OPEN)
    if process_key:
        qs = qs.filter(instance__process_key=process_key)
    group = [F("instance__process_key"), F("activity_id"), F("message")]
    qs = (
        qs.select_related("instance", "job")
        .annotate(
            rank=Window(RowNumber(), partition_by=group, order_by=F("pk").asc()),
            group_count=Window(Count("id"), partition_by=group),
            group_first=Window(Min("created_at"), partition_by=group),
            group_last=Window(Max("created_at"), partition_by=group),
        )
        .order_by("-group_count", "instance__process_key", "activity_id", "message", "pk")
    )
    if per_group is not None:
        qs = qs.filter(rank__lte=per_group)
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    for incident in qs:
        key = (incident.instance.process_key, incident.activity_id, incident.message)
        if key not in groups:
            groups[key] = {
                "process_key": key[0],
                "activity_id": key[1],
                "message": key[2],
                "count": incident.group_count,
                "first_at": incident.group_first,
                "last_at": incident.group_last,
                "incidents": [],
            }
        groups[key]["incidents"].append(incident)
    return list(groups.values())


def incidents_of_group(
    *, process_key: str, activity_id: str, message: str, limit: int | None = 50
) -> QuerySet[Incident]:
    qs = (
        Incident.objects.filter(
            status=IncidentStatus.OPEN,
            instance__process_key=process_key,
            activity_id=activity_id,
            message=message,
        )
        .select_related("instance", "job")
        .order_by("pk")
    )
    return qs[:limit] if limit else qs


def incidents_closed(*, status: str) -> QuerySet[Incident]:
    """Retried or resolved incidents, newest first, with who closed them."""
    return (
        Incident.objects.filter(status=status)
        .select_related("instance", "resolved_by")
        .order_by("-resolved_at", "-pk")
    )
