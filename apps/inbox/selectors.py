from __future__ import annotations

from django.db.models import Q, QuerySet

from apps.accounts import permissions
from apps.accounts.roles import PERM_WORK_TASK
from apps.common.errors import NotFound
from apps.inbox.models import HumanTask, TaskStatus


def tasks_visible(*, user, status: str | None = TaskStatus.OPEN) -> QuerySet[HumanTask]:
    """Tasks the user may work on: offered to one of their roles, to them, or assigned to them."""
    qs = HumanTask.objects.select_related("instance", "assignee")
    if status:
        qs = qs.filter(status=status)
    return permissions.filter_visible(user, PERM_WORK_TASK, qs)


def inbox_list(
    *, user, mine: bool = False, search: str = "", status: str | None = TaskStatus.OPEN
) -> QuerySet[HumanTask]:
    qs = tasks_visible(user=user, status=status)
    if mine:
        qs = qs.filter(assignee=user)
    else:
        qs = (
            qs.filter(Q(assignee__isnull=True) | Q(assignee=user))
            if status == TaskStatus.OPEN
            else qs
        )
    if search:
        qs = qs.filter(
            Q(name__icontains=search)
            | Q(process_key__icontains=search)
            | Q(instance__business_key__icontains=search)
        )
    return qs.order_by("-priority", "due_at", "created_at")


def instance_open_tasks(*, instance) -> list[dict]:
    """The open tasks of an instance with who holds them (the instance page)."""
    return list(
        HumanTask.objects.filter(instance=instance, status=TaskStatus.OPEN).values(
            "id", "activity_id", "name", "assignee__username", "candidate_groups"
        )
    )


def task_get_for_user(*, user, task_id: int) -> HumanTask:
    """A task the user may see; NotFound (not 403) otherwise, so ids are not probeable."""
    task = HumanTask.objects.select_related("instance", "assignee").filter(pk=task_id).first()
    if task is None or not permissions.can(user, PERM_WORK_TASK, task):
        raise NotFound(
            f"Task {task_id} does not exist or is not offered to you.", code="task_not_found"
        )
    return task
