from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.common.actors import Actor
from apps.common.errors import FlowgateError
from apps.common.pages import paginate, run_action
from apps.engine import selectors as engine_selectors
from apps.engine import services as engine_services
from apps.inbox import selectors, services


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    mine = request.GET.get("view") == "mine"
    search = request.GET.get("q", "").strip()
    page = paginate(request, selectors.inbox_list(user=request.user, mine=mine, search=search))
    template = "inbox/_task_rows.html" if request.headers.get("HX-Request") else "inbox/list.html"
    return render(request, template, {"page": page, "mine": mine, "search": search})


@login_required
def task_detail(request: HttpRequest, task_id: int) -> HttpResponse:
    try:
        task = selectors.task_get_for_user(user=request.user, task_id=task_id)
    except FlowgateError:
        raise Http404("This task does not exist or is not offered to you.") from None
    return render(
        request,
        "inbox/task.html",
        {
            "task": task,
            "four_eyes_blocked": task.is_approval and task.requested_by_id == request.user.pk,
            "complete_url": reverse("api-task-complete", args=[task.pk]),
        },
    )


def _task_action(request: HttpRequest, task_id: int, action, success: str) -> HttpResponse:
    back = reverse("inbox:task", args=[task_id])
    return run_action(request, action, success=success, back=back)


@login_required
@require_POST
def task_claim(request: HttpRequest, task_id: int) -> HttpResponse:
    actor = Actor.for_user(request.user)
    return _task_action(
        request,
        task_id,
        lambda: services.task_claim(task_id=task_id, user=request.user, actor=actor),
        "You claimed the task.",
    )


@login_required
@require_POST
def task_unclaim(request: HttpRequest, task_id: int) -> HttpResponse:
    actor = Actor.for_user(request.user)
    return _task_action(
        request,
        task_id,
        lambda: services.task_unclaim(task_id=task_id, user=request.user, actor=actor),
        "The task is back in the shared inbox.",
    )


@login_required
@require_POST
def task_delegate(request: HttpRequest, task_id: int) -> HttpResponse:
    actor = Actor.for_user(request.user)
    to = request.POST.get("username", "").strip()
    return _task_action(
        request,
        task_id,
        lambda: services.task_delegate(
            task_id=task_id, user=request.user, to_username=to, actor=actor
        ),
        f"Delegated to {to}.",
    )


@login_required
@require_POST
def task_decide(request: HttpRequest, task_id: int) -> HttpResponse:
    """Approve / reject (approval tasks) or complete (tasks without a form) from plain buttons."""
    actor = Actor.for_user(request.user)
    decision = request.POST.get("decision")
    data: dict = {"comment": request.POST.get("comment", "")[:2000]}
    if decision in ("approve", "reject"):
        data["approved"] = decision == "approve"
    success = {"approve": "Approved.", "reject": "Rejected."}.get(decision or "", "Task completed.")
    return run_action(
        request,
        lambda: services.task_complete(task_id=task_id, user=request.user, data=data, actor=actor),
        success=success,
        back=reverse("inbox:list"),
    )


@login_required
def instance_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    qs = engine_selectors.instance_list(
        user=request.user, status=status, process_key=request.GET.get("process", "").strip()
    )
    return render(
        request, "inbox/instances.html", {"page": paginate(request, qs), "status": status}
    )


@login_required
def instance_detail(request: HttpRequest, instance_id: int) -> HttpResponse:
    try:
        instance = engine_selectors.instance_get(user=request.user, instance_id=instance_id)
    except FlowgateError:
        raise Http404("This instance does not exist or is not visible to you.") from None
    return render(
        request,
        "inbox/instance.html",
        {
            "instance": instance,
            "activity": {
                **engine_selectors.instance_activity(instance=instance),
                "user_tasks": selectors.instance_open_tasks(instance=instance),
            },
            "can_operate": engine_selectors.can_operate(user=request.user, instance=instance),
        },
    )


@login_required
@require_POST
def instance_operate(request: HttpRequest, instance_id: int, operation: str) -> HttpResponse:
    back = reverse("inbox:instance", args=[instance_id])
    try:
        instance = engine_selectors.instance_get(user=request.user, instance_id=instance_id)
    except FlowgateError:
        raise Http404("This instance does not exist or is not visible to you.") from None
    if not engine_selectors.can_operate(user=request.user, instance=instance) or operation not in (
        "cancel",
        "suspend",
        "resume",
    ):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied("You may not change this instance.")
    service = {
        "cancel": engine_services.instance_cancel,
        "suspend": engine_services.instance_suspend,
        "resume": engine_services.instance_resume,
    }[operation]
    actor = Actor.for_user(request.user)
    return run_action(
        request,
        lambda: service(instance_id=instance_id, actor=actor),
        success={
            "cancel": "Instance cancelled.",
            "suspend": "Instance suspended.",
            "resume": "Instance resumed.",
        }[operation],
        back=back,
    )
