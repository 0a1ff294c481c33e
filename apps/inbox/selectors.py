"""Inbox and request reads. Visibility always comes from object permissions (apps.accounts.
permissions): a task is in someone's inbox because it was offered to one of their roles, to them
by name, or assigned to them; no global permission shows every task."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import CharField, Count, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from apps.accounts import permissions
from apps.accounts.models import User
from apps.accounts.roles import PERM_VIEW_INSTANCE, PERM_WORK_TASK, Role
from apps.audit.selectors import instance_timeline
from apps.common.errors import InvalidInput, NotFound
from apps.engine import selectors as engine_selectors
from apps.engine.models import InstanceStatus, ProcessInstance
from apps.inbox.model_rules import ProcessRules
from apps.inbox.models import (
    Delegation,
    HumanTask,
    InboxEvent,
    Substitution,
    TaskAttachment,
    TaskComment,
    TaskStatus,
)
from apps.inbox.projection import rules_for_version_id
from apps.processes.models import ProcessVersion, VersionStatus

VIEWS = ("all", "mine", "roles", "delegated", "completed", "overdue", "at_risk")
SORTS = {
    "newest": ("-created_at", "-id"),
    "age": ("created_at", "id"),
    "due": ("due_at", "-priority", "id"),  # nulls last on both databases (Django: asc)
    "priority": ("-priority", "due_at", "id"),
}


def tasks_visible(*, user, status: str | None = TaskStatus.OPEN) -> QuerySet[HumanTask]:
    """Tasks the user may work on: offered to one of their roles, to them, or assigned to them."""
    qs = HumanTask.objects.all()
    if status:
        qs = qs.filter(status=status)
    return permissions.filter_visible_exists(user, PERM_WORK_TASK, qs)


def _filtered(qs: QuerySet[HumanTask], *, user, view: str, now: datetime) -> QuerySet[HumanTask]:
    if view == "mine":
        return qs.filter(assignee=user)
    if view == "roles":
        return qs.filter(assignee__isnull=True)
    if view == "delegated":
        return qs.filter(assignee=user, delegation=Delegation.PENDING)
    if view == "overdue":
        return qs.filter(due_at__lt=now)
    if view == "at_risk":
        return qs.filter(sla_warning_at__lte=now).filter(
            Q(due_at__isnull=True) | Q(due_at__gte=now)
        )
    return qs.filter(Q(assignee__isnull=True) | Q(assignee=user))


LIST_FIELDS = (
    "id",
    "instance",
    "activity_id",
    "name",
    "process_key",
    "status",
    "assignee",
    "owner",
    "delegation",
    "on_behalf_of",
    "candidate_groups",
    "candidate_users",
    "priority",
    "due_at",
    "sla_warning_at",
    "escalated_at",
    "is_approval",
    "comment_required_on_reject",
    "approvals_needed",
    "outcome",
    "created_at",
    "completed_at",
)


def _list_refs() -> dict[str, RawSQL]:
    """What a list row shows besides the task's own columns — ``business_key`` and the
    ``assignee_name``, ``owner_name``, ``on_behalf_of_name`` — as sub-selects by primary key in
    the list's own query: PostgreSQL evaluates them for the rows returned only (after the
    ORDER BY / LIMIT), one round trip for the page instead of a second query for the
    references. (Joining four tables into the walk cost more in planning than the walk itself.)
    Raw SQL: four ORM subqueries cost more to compile than the lookups they make."""
    qn = connection.ops.quote_name
    task = qn(HumanTask._meta.db_table)
    instances = qn(ProcessInstance._meta.db_table)
    users = qn(User._meta.db_table)

    def username(column: str) -> RawSQL:
        sql = f"SELECT u.{qn('username')} FROM {users} u WHERE u.{qn('id')} = {task}.{qn(column)}"  # noqa: S608 - quoted names
        return RawSQL(sql, [], output_field=CharField())  # noqa: S611 - quoted names, no values

    business_key = (
        f"SELECT i.{qn('business_key')} FROM {instances} i "  # noqa: S608 - quoted names
        f"WHERE i.{qn('id')} = {task}.{qn('instance_id')}"
    )
    return {
        "business_key": RawSQL(business_key, [], output_field=CharField()),  # noqa: S611
        "assignee_name": username("assignee_id"),
        "owner_name": username("owner_id"),
        "on_behalf_of_name": username("on_behalf_of_id"),
    }


# The row of a list page: the task's own columns (attribute names), then the references.
REF_COLUMNS = ("business_key", "assignee_name", "owner_name", "on_behalf_of_name")
ROW_COLUMNS = (
    *(HumanTask._meta.get_field(name).attname for name in LIST_FIELDS),
    *REF_COLUMNS,
)


@dataclass(slots=True)
class TaskRow:
    """One row of a task list (page and API): the task's list columns and the references the
    row shows, as plain attributes named as on ``HumanTask``. Building 50 model instances (with
    deferred fields) cost a fifth of the list's Python time; a row is a tuple's worth."""

    id: int
    instance_id: int
    activity_id: str
    name: str
    process_key: str
    status: str
    assignee_id: int | None
    owner_id: int | None
    delegation: str
    on_behalf_of_id: int | None
    candidate_groups: list
    candidate_users: list
    priority: int
    due_at: datetime | None
    sla_warning_at: datetime | None
    escalated_at: datetime | None
    is_approval: bool
    comment_required_on_reject: bool
    approvals_needed: int | None
    outcome: str
    created_at: datetime
    completed_at: datetime | None
    business_key: str | None
    assignee_name: str | None
    owner_name: str | None
    on_behalf_of_name: str | None
    # set by the page for its cells
    approvals_so_far: int | None = None
    due_label: str = ""
    created_label: str = ""

    @property
    def pk(self) -> int:
        return self.id


class ListRows:
    """An ``inbox_list`` queryset read as ``TaskRow`` objects; sliced like the queryset (what
    ``paging.capped`` and the paginators do), one query per slice."""

    def __init__(self, queryset: QuerySet[HumanTask]) -> None:
        self.queryset = queryset

    def __getitem__(self, key: slice) -> list[TaskRow]:
        return [TaskRow(*row) for row in self.queryset.values_list(*ROW_COLUMNS)[key]]


def list_rows(queryset: QuerySet[HumanTask]) -> ListRows:
    return ListRows(queryset)


def inbox_list(
    *,
    user,
    view: str = "all",
    search: str = "",
    sort: str = "newest",
    mine: bool = False,
    status: str | None = TaskStatus.OPEN,
    now: datetime | None = None,
) -> QuerySet[HumanTask]:
    """The inbox: ``view`` is one of VIEWS, ``sort`` one of SORTS (InvalidInput otherwise)."""
    if mine:
        view = "mine"
    if view not in VIEWS:
        raise InvalidInput(f"view must be one of: {', '.join(VIEWS)}.", code="invalid_filter")
    if sort not in SORTS:
        raise InvalidInput(f"sort must be one of: {', '.join(SORTS)}.", code="invalid_filter")
    now = now or timezone.now()
    if view == "completed":
        qs = HumanTask.objects.filter(completed_by=user, status=TaskStatus.COMPLETED)
        order = ("-completed_at", "-id")
    else:
        qs = _filtered(tasks_visible(user=user, status=status), user=user, view=view, now=now)
        order = SORTS[sort]
    # Only what a list row shows (page and API): not the engine state, forms or data, nor
    # every column of the instance and the users (a narrow row is cheaper to read and build).
    qs = qs.only(*LIST_FIELDS).annotate(**_list_refs())
    search = (search or "").strip()[:100]
    if search:
        qs = qs.filter(
            Q(name__icontains=search)
            | Q(process_key__icontains=search)
            | Q(instance__business_key__icontains=search)
        )
    return qs.order_by(*order)


COUNT_CAP = 100


def inbox_counts(*, user, now: datetime | None = None) -> dict[str, int]:
    """The count badges of the inbox views, capped at COUNT_CAP each ("99+" is enough to know,
    and a capped count stops probing permissions after COUNT_CAP hits)."""
    now = now or timezone.now()
    counts = {}
    for view in ("all", "mine", "roles", "delegated", "overdue", "at_risk"):
        qs = _filtered(tasks_visible(user=user), user=user, view=view, now=now)
        counts[view] = qs.order_by().values("pk")[:COUNT_CAP].count()
    return counts


def newest_open_for_roles(*, user, limit: int = 50) -> list[TaskRow]:
    """ "Open tasks for my roles, newest 50": the inbox's main query as the page and the API
    read it (benchmarked)."""
    return list_rows(inbox_list(user=user, view="all", sort="newest"))[:limit]


def instance_open_tasks(*, instance) -> list[dict]:
    """The open tasks of an instance with who holds them (the instance page)."""
    return list(
        HumanTask.objects.filter(instance=instance, status=TaskStatus.OPEN).values(
            "id", "activity_id", "name", "assignee__username", "candidate_groups"
        )
    )


def task_get_for_user(*, user, task_id: int) -> HumanTask:
    """A task the user may work on, or has completed; NotFound (not 403) otherwise, so ids are
    not probeable."""
    task = (
        HumanTask.objects.select_related("instance", "assignee", "owner", "on_behalf_of")
        .filter(pk=task_id)
        .first()
    )
    if task is None or not (
        permissions.can(user, PERM_WORK_TASK, task) or task.completed_by_id == user.pk
    ):
        raise NotFound(
            f"Task {task_id} does not exist or is not offered to you.", code="task_not_found"
        )
    return task


def approval_progress(tasks) -> dict[tuple[int, str], int]:
    """(instance id, activity id) -> approvals so far, for N-of-M approvals among ``tasks``."""
    keys = {(t.instance_id, t.activity_id) for t in tasks if t.approvals_needed}
    if not keys:
        return {}
    rows = (
        HumanTask.objects.filter(
            instance_id__in={k[0] for k in keys},
            activity_id__in={k[1] for k in keys},
            status=TaskStatus.COMPLETED,
            outcome="approved",
        )
        .values("instance_id", "activity_id")
        .annotate(n=Count("id"))
    )
    found = {(r["instance_id"], r["activity_id"]): r["n"] for r in rows}
    return {key: found.get(key, 0) for key in keys}


def events_since(*, user, since: int, limit: int = 200) -> tuple[int, list[dict]]:
    """Live feed: task changes after event ``since`` that concern ``user`` (their roles, them
    by name, as assignee, owner or requester). Returns (last event id seen, events)."""
    rows = list(
        InboxEvent.objects.filter(pk__gt=since)
        .order_by("pk")
        .values("pk", "task_id", "instance_id", "kind", "status", "roles", "users")[:limit]
    )
    if not rows:
        return since, []
    roles = user.role_names()
    everything = permissions.has_role(user, "admin")
    events = [
        {
            "id": r["pk"],
            "task": r["task_id"],
            "instance": r["instance_id"],
            "kind": r["kind"],
            "status": r["status"],
        }
        for r in rows
        if everything or user.pk in r["users"] or roles.intersection(r["roles"])
    ]
    return rows[-1]["pk"], events


def last_event_id() -> int:
    return InboxEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def comments_of(*, instance_id: int) -> QuerySet[TaskComment]:
    return TaskComment.objects.select_related("author", "task").filter(instance_id=instance_id)


def attachments_of(*, instance_id: int) -> QuerySet[TaskAttachment]:
    return TaskAttachment.objects.select_related("uploaded_by").filter(instance_id=instance_id)


def history_of(*, instance_id: int) -> QuerySet:
    return instance_timeline(instance_id=instance_id)


def substitutions_of(*, user) -> QuerySet[Substitution]:
    return (
        Substitution.objects.select_related("substitute").filter(user=user).order_by("-starts_at")
    )


# --- requests (the requester's side) ------------------------------------------------------------


@dataclass(frozen=True)
class CatalogEntry:
    key: str
    name: str
    category: str
    description: str
    version_id: int
    version_number: int
    start_form: dict | None


def catalog(*, user, search: str = "") -> list[CatalogEntry]:
    """The latest deployed version of every process ``user`` may start (by role), sorted by
    category then name, filtered by ``search`` (name, key, category, description)."""
    latest: dict[int, ProcessVersion] = {}
    versions = (
        ProcessVersion.objects.filter(status=VersionStatus.DEPLOYED)
        .select_related("definition")
        .only(
            "id",
            "number",
            "checksum",
            "definition__key",
            "definition__name",
            "definition__description",
        )
        .order_by("definition_id", "-number")
    )
    for version in versions:
        latest.setdefault(version.definition_id, version)
    roles = user.role_names()
    needle = (search or "").strip().lower()
    entries = []
    for version in latest.values():
        rules: ProcessRules = rules_for_version_id(version.pk)
        if not rules.may_start(username=user.get_username(), roles=roles):
            continue
        definition = version.definition
        entry = CatalogEntry(
            key=definition.key,
            name=definition.name or rules.name or definition.key,
            category=rules.category or "Other",
            description=definition.description or rules.description,
            version_id=version.pk,
            version_number=version.number,
            start_form=rules.start_form,
        )
        text = f"{entry.name} {entry.key} {entry.category} {entry.description}".lower()
        if needle and needle not in text:
            continue
        entries.append(entry)
    return sorted(entries, key=lambda e: (e.category.lower(), e.name.lower()))


def catalog_entry(*, user, key: str) -> CatalogEntry:
    for entry in catalog(user=user):
        if entry.key == key:
            return entry
    raise NotFound(f"No process '{key}' that you may start.", code="process_not_found")


def my_requests(*, user, status: str = "") -> QuerySet[ProcessInstance]:
    qs = ProcessInstance.objects.filter(started_by=user).select_related("version__definition")
    if status:
        if status not in InstanceStatus.values:
            raise InvalidInput(
                f"status must be one of: {', '.join(InstanceStatus.values)}.",
                code="invalid_filter",
            )
        qs = qs.filter(status=status)
    return qs.defer("state", "version__xml", "version__spec_json").order_by("-id")


def request_get(*, user, instance_id: int, to_write: bool = False) -> ProcessInstance:
    """A request the user started, or may see (approvers, overseers). ``to_write`` (comments,
    files): the requester, someone a task of it was offered to, or a manager / admin; auditors
    read only."""
    instance = (
        ProcessInstance.objects.select_related("version__definition", "started_by")
        .defer("state", "version__spec_json")
        .filter(pk=instance_id)
        .first()
    )
    if instance is not None and instance.started_by_id == user.pk:
        return instance
    if to_write:
        allowed = instance is not None and (
            permissions.has_role(user, Role.ADMIN, Role.MANAGER)
            or permissions.can(user, PERM_VIEW_INSTANCE, instance)
        )
    else:
        allowed = (
            instance is not None
            and engine_selectors.instances_visible(user=user).filter(pk=instance_id).exists()
        )
    if not allowed:
        raise NotFound(
            f"Request {instance_id} does not exist or is not visible to you.",
            code="request_not_found",
        )
    return instance


@dataclass(frozen=True)
class RequestSummary:
    """Where a request stands, as a list row shows it: its open steps and who holds them, and
    whether the requester may withdraw it."""

    current_steps: list[dict]
    cancellable: bool


@dataclass(frozen=True)
class RequestState(RequestSummary):
    """A request's page: the summary, plus the activities it went through (the diagram)."""

    done_activities: list[str]


def request_summaries(*, instances, user=None) -> dict[int, RequestSummary]:
    """Instance id -> its summary, for a page of requests in three queries (open tasks with
    their holders, N-of-M progress, open automated steps), whatever the page's length."""
    instances = list(instances)
    ids = [instance.pk for instance in instances]
    open_tasks = list(
        HumanTask.objects.filter(instance_id__in=ids, status=TaskStatus.OPEN)
        .select_related("assignee")
        .order_by("id")
    )
    progress = approval_progress(open_tasks)
    tasks_of: dict[int, list[HumanTask]] = {}
    for task in open_tasks:
        tasks_of.setdefault(task.instance_id, []).append(task)
    jobs_of = engine_selectors.open_job_activities(instance_ids=ids)
    withdrawable = [
        instance
        for instance in instances
        if user is not None and instance.started_by_id == user.pk and instance.is_active
    ]
    cancellable = {  # the model's rule, once per version on the page
        version_id: rules_for_version_id(version_id).cancellable
        for version_id in {instance.version_id for instance in withdrawable}
    }
    return {
        instance.pk: RequestSummary(
            current_steps=_task_steps(tasks_of.get(instance.pk, []), progress)
            + _job_steps(jobs_of.get(instance.pk, [])),
            cancellable=instance in withdrawable and cancellable[instance.version_id],
        )
        for instance in instances
    }


def _task_steps(open_tasks, progress) -> list[dict]:
    return [
        {
            "activity_id": t.activity_id,
            "name": t.name,
            "holder": t.assignee.username
            if t.assignee
            else ", ".join(t.candidate_groups + t.candidate_users) or "—",
            "claimed": t.assignee_id is not None,
            "due_at": t.due_at,
            "approvals": progress.get((t.instance_id, t.activity_id)),
            "approvals_needed": t.approvals_needed,
        }
        for t in open_tasks
    ]


def _job_steps(activity_ids) -> list[dict]:
    return [
        {
            "activity_id": activity_id,
            "name": activity_id,
            "holder": "automatic step",
            "claimed": False,
            "due_at": None,
            "approvals": None,
            "approvals_needed": None,
        }
        for activity_id in activity_ids
    ]


def request_state(*, instance: ProcessInstance, user=None) -> RequestState:
    """Where a request stands: open tasks (and who holds them), the activities it went
    through (for the diagram), and whether the requester may withdraw it."""
    summary = request_summaries(instances=[instance], user=user)[instance.pk]
    done = sorted(
        {
            step.get("activity_id")
            for event in instance_timeline(instance_id=instance.pk)
            .select_related(None)
            .only("data")
            for step in (event.data or {}).get("steps", [])
            if isinstance(step, dict) and step.get("kind") == "completed"
        }
        - {None}
        | set(
            HumanTask.objects.filter(instance=instance, status=TaskStatus.COMPLETED).values_list(
                "activity_id", flat=True
            )
        )
    )
    return RequestState(
        current_steps=summary.current_steps,
        cancellable=summary.cancellable,
        done_activities=done,
    )
