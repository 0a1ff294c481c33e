"""The requester's side: the catalog of processes a user may start, their requests, and where
each request stands (who holds it, which automated step it waits on)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace

from django.db.models import Q, QuerySet

from apps.accounts import permissions
from apps.accounts.roles import PERM_VIEW_INSTANCE, Role
from apps.audit.selectors import instance_timeline
from apps.common.errors import InvalidInput, NotFound
from apps.engine import selectors as engine_selectors
from apps.engine.models import InstanceStatus, ProcessInstance
from apps.inbox.model_rules import ProcessRules
from apps.inbox.models import LIVE_TASK_STATUSES, HumanTask, TaskStatus
from apps.inbox.projection import rules_for_version_id
from apps.inbox.selectors.tasks import approval_progress
from apps.processes.models import ProcessVersion, VersionStatus


@dataclass(frozen=True)
class CatalogEntry:
    key: str
    name: str
    category: str
    description: str
    version_id: int
    version_number: int
    start_form: dict | None
    # another entry has the same name (a copy of a template, say): the card also shows the key
    name_shared: bool = False


def catalog(*, user, search: str = "") -> list[CatalogEntry]:
    """The latest deployed version of every process ``user`` may start (by role) that people
    start at all (a none start event: not a process only webhooks, messages or timers start),
    once each, sorted by category then name, filtered by ``search`` (name, key, category,
    description). Entries that share a name are marked (``name_shared``) so the page can tell
    them apart."""
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
        if not rules.human_start:
            continue
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
    names = Counter(e.name.casefold() for e in entries)
    entries = [replace(e, name_shared=True) if names[e.name.casefold()] > 1 else e for e in entries]
    return sorted(entries, key=lambda e: (e.category.lower(), e.name.lower(), e.key))


def catalog_entry(*, user, key: str) -> CatalogEntry:
    for entry in catalog(user=user):
        if entry.key == key:
            return entry
    raise NotFound(f"No process '{key}' that you may start.", code="process_not_found")


def my_requests(*, user, status: str = "", search: str = "") -> QuerySet[ProcessInstance]:
    """The user's requests, newest first (designer test runs left out); ``search`` matches the
    reference (business key), the process key or the process's name."""
    qs = ProcessInstance.objects.filter(started_by=user, is_test_run=False).select_related(
        "version__definition"
    )
    needle = (search or "").strip()[:100]
    if needle:
        qs = qs.filter(
            Q(business_key__icontains=needle)
            | Q(process_key__icontains=needle)
            | Q(version__definition__name__icontains=needle)
        )
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
        .filter(pk=instance_id, is_test_run=False)  # a designer's test run is no request
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
    if not allowed or instance is None:
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
        HumanTask.objects.filter(instance_id__in=ids, status__in=LIVE_TASK_STATUSES)
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
            # "more information needed": the step waits on the requester's answer
            "task_id": t.pk,
            "waiting_on_requester": t.status == TaskStatus.WAITING,
            "question": t.info_question if t.status == TaskStatus.WAITING else "",
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
            "task_id": None,
            "waiting_on_requester": False,
            "question": "",
        }
        for activity_id in activity_ids
    ]


def request_state(*, instance: ProcessInstance, user=None) -> RequestState:
    """Where a request stands: open tasks (and who holds them), the activities it went
    through (for the diagram), and whether the requester may withdraw it."""
    summary = request_summaries(instances=[instance], user=user)[instance.pk]
    done = sorted(
        {
            step["activity_id"]
            for event in instance_timeline(instance_id=instance.pk)
            .select_related(None)
            .only("data")
            for step in (event.data or {}).get("steps", [])
            if isinstance(step, dict)
            and step.get("kind") == "completed"
            and step.get("activity_id") is not None
        }
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
