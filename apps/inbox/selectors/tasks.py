"""Task reads: the inbox list (visibility from object permissions), its counts and rows, one
task, approval progress, the live feed, comments, attachments, history, substitutions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import CharField, Count, Field, IntegerField, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from apps.accounts import permissions
from apps.accounts.models import User
from apps.accounts.roles import PERM_WORK_TASK
from apps.audit.selectors import instance_timeline
from apps.common.errors import InvalidInput, NotFound
from apps.engine.models import ProcessInstance
from apps.inbox.model_rules import request_summary
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

VIEWS = ("all", "mine", "roles", "delegated", "completed", "overdue", "at_risk", "waiting")
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
    "sla_breach_at",
    "escalated_at",
    "info_question",
    "paused_at",
    "paused_seconds",
    "is_approval",
    "comment_required_on_reject",
    "approvals_needed",
    "outcome",
    "created_at",
    "completed_at",
    "requested_by",
    "four_eyes_user",
)


def _list_refs() -> dict[str, RawSQL]:
    """What a list row shows besides the task's own columns — ``business_key``, the
    ``assignee_name``, ``owner_name``, ``on_behalf_of_name`` and the ``instance_status`` (a
    suspended instance's task cannot be decided) — as sub-selects by primary key in
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
    instance_status = (
        f"SELECT i.{qn('status')} FROM {instances} i "  # noqa: S608 - quoted names
        f"WHERE i.{qn('id')} = {task}.{qn('instance_id')}"
    )
    # who asked: the approval's requester (four-eyes), else the person who started the instance
    requester = (
        f"SELECT u.{qn('username')} FROM {users} u WHERE u.{qn('id')} = COALESCE("  # noqa: S608
        f"{task}.{qn('requested_by_id')}, (SELECT i.{qn('started_by_id')} FROM {instances} i "
        f"WHERE i.{qn('id')} = {task}.{qn('instance_id')}))"
    )
    version_id = (
        f"SELECT i.{qn('version_id')} FROM {instances} i "  # noqa: S608 - quoted names
        f"WHERE i.{qn('id')} = {task}.{qn('instance_id')}"
    )
    return {
        "business_key": RawSQL(business_key, [], output_field=CharField()),  # noqa: S611
        "assignee_name": username("assignee_id"),
        "owner_name": username("owner_id"),
        "on_behalf_of_name": username("on_behalf_of_id"),
        "instance_status": RawSQL(instance_status, [], output_field=CharField()),  # noqa: S611
        "requester_name": RawSQL(requester, [], output_field=CharField()),  # noqa: S611
        "version_id": RawSQL(version_id, [], output_field=IntegerField()),  # noqa: S611
    }


# The row of a list page: the task's own columns (attribute names), then the references.
REF_COLUMNS = (
    "business_key",
    "assignee_name",
    "owner_name",
    "on_behalf_of_name",
    "instance_status",
    "requester_name",
    "version_id",
)


def _column(name: str) -> str:
    """The database column of a concrete field of HumanTask (``assignee`` -> ``assignee_id``)."""
    field = HumanTask._meta.get_field(name)
    if not isinstance(field, Field):
        raise TypeError(f"HumanTask.{name} is not a concrete field")
    return field.attname


ROW_COLUMNS = (
    *(_column(name) for name in LIST_FIELDS),
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
    sla_breach_at: datetime | None
    escalated_at: datetime | None
    info_question: str
    paused_at: datetime | None
    paused_seconds: float
    is_approval: bool
    comment_required_on_reject: bool
    approvals_needed: int | None
    outcome: str
    created_at: datetime
    completed_at: datetime | None
    requested_by_id: int | None
    four_eyes_user_id: int | None
    business_key: str | None
    assignee_name: str | None
    owner_name: str | None
    on_behalf_of_name: str | None
    instance_status: str | None
    requester_name: str | None = None
    version_id: int | None = None
    # set by the page for its cells
    approvals_so_far: int | None = None
    process_name: str = ""
    summary: str = ""
    # why the user may not decide it for what they decided before in the request (the page sets
    # it from eligibility.decided_elsewhere; "" when nothing keeps them)
    not_decidable: str = ""
    due_label: str = ""
    created_label: str = ""

    @property
    def pk(self) -> int:
        return self.id

    def approvable_by(self, user_id: int | None) -> bool:
        """Whether ``user_id`` may pick this task for "Approve selected": an open approval of a
        running instance that four-eyes does not keep from them (the service checks again)."""
        return (
            self.is_approval
            and self.status == "open"
            and self.instance_status != "suspended"
            and user_id not in (self.requested_by_id, self.four_eyes_user_id)
            and not self.not_decidable
        )


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
        order: tuple[str, ...] = ("-completed_at", "-id")
    elif view == "waiting":  # sent back to the requester by this user (SLA paused)
        qs = HumanTask.objects.filter(assignee=user, status=TaskStatus.WAITING)
        order = ("-paused_at", "-id")
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
    return [
        dict(row)
        for row in HumanTask.objects.filter(instance=instance, status=TaskStatus.OPEN).values(
            "id", "activity_id", "name", "assignee__username", "candidate_groups"
        )
    ]


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


def tasks_chosen(*, user, task_ids: list[int]) -> list[TaskRow]:
    """The open tasks among ``task_ids`` that ``user`` sees in their inbox, as list rows (the
    bulk approval's confirmation step names what it will approve)."""
    qs = inbox_list(user=user, view="all").filter(pk__in=task_ids[:100])
    return list_rows(qs)[:100]


def rows_describe(rows: list[TaskRow]) -> None:
    """Fill each row's ``process_name`` (the model's name, else the key) and ``summary`` (the
    model's ``flowgate:summary`` over the request's variables, else its business key): one query
    for the variables of the page's requests whose model has a summary."""
    rules = {v: rules_for_version_id(v) for v in {r.version_id for r in rows if r.version_id}}
    wanted = {r.instance_id for r in rows if r.version_id and rules[r.version_id].summary_template}
    variables = (
        dict(ProcessInstance.objects.filter(pk__in=wanted).values_list("id", "variables"))
        if wanted
        else {}
    )
    for row in rows:
        model = rules.get(row.version_id) if row.version_id else None
        row.process_name = (model.name if model else "") or row.process_key
        text = ""
        if model and model.summary_template and isinstance(variables.get(row.instance_id), dict):
            text = request_summary(model.summary_template, variables[row.instance_id])
        row.summary = text or (row.business_key or "")


def task_describe(task: HumanTask) -> tuple[str, str]:
    """(process name, summary line) of one task, as ``rows_describe`` gives a list row."""
    instance = task.instance
    model = rules_for_version_id(instance.version_id)
    summary = ""
    if model.summary_template and isinstance(instance.variables, dict):
        summary = request_summary(model.summary_template, instance.variables)
    return model.name or task.process_key, summary or instance.business_key or ""
