"""Inbox pages: the live task list, the task page and its actions, settings (out of office,
notifications), instance pages. Thin: parse, call one service or selector, render."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.accounts.requests import AuthenticatedHttpRequest
from apps.common.actors import Actor
from apps.common.errors import FlowgateError, InvalidInput
from apps.common.pages import PageForm, page_query, paginate, run_action
from apps.engine import selectors as engine_selectors
from apps.engine import services as engine_services
from apps.inbox import selectors, services
from apps.inbox.forms import (
    BulkApproveForm,
    CommentForm,
    DecisionForm,
    HandOverForm,
    InboxListForm,
    InstanceListForm,
    NotificationSettingsForm,
    SettingsPostForm,
    SubstitutionEndForm,
    SubstitutionForm,
)
from apps.inbox.model_rules import activity_labels
from apps.inbox.models import NotificationSettings
from apps.inbox.paging import capped
from apps.inbox.row_html import task_rows_html

VIEW_LABELS = (
    ("all", "Available to me"),
    ("mine", "Mine"),
    ("roles", "My roles, unclaimed"),
    ("delegated", "Delegated to me"),
    ("overdue", "Overdue"),
    ("at_risk", "At risk"),
    ("waiting", "Waiting on the requester"),
    ("completed", "Completed by me"),
)
COUNTED = frozenset(("all", "mine", "roles", "delegated", "overdue", "at_risk"))
SORT_LABELS = (
    ("newest", "Newest"),
    ("age", "Oldest"),
    ("due", "Due date"),
    ("priority", "Priority"),
)


def _task_base() -> str:
    """The task pages' prefix; a row links to prefix + id + "/" (one reverse() per page)."""
    return reverse("inbox:task", args=[0])[: -len("0/")]


def _minute(value: datetime | None) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


@login_required
def inbox(request: AuthenticatedHttpRequest) -> HttpResponse:
    view, sort, search = InboxListForm(request.GET).filters()
    # the feed's position before the list: a change committed meanwhile is heard again, not lost
    last_event = 0 if request.headers.get("HX-Request") else selectors.last_event_id()
    try:
        qs = selectors.inbox_list(user=request.user, view=view, sort=sort, search=search)
    except InvalidInput as exc:
        context: dict[str, Any] = {
            "error": exc.message,
            "page": None,
            "views": [],
            "sorts": SORT_LABELS,
        }
        context.update(view="all", sort="newest", search=search)
        return render(request, "inbox/list.html", context, status=400)
    rows = selectors.list_rows(qs)
    page = paginate(
        request, capped(rows, page=PageForm(request.GET).number(), page_size=25), per_page=25
    )
    progress = selectors.approval_progress(page.object_list)
    selectors.rows_describe(page.object_list)  # process names and summary lines
    # approvals the user decided a sibling of, or approved another level of: not selectable
    decided = selectors.decided_elsewhere(request.user, [t.pk for t in page.object_list])
    for task in page.object_list:
        task.approvals_so_far = progress.get((task.instance_id, task.activity_id))
        if task.pk in decided:
            task.not_decidable = decided[task.pk].message
        # 25 rows x 2 dates through the |date filter cost more than the page's query
        task.due_label = _minute(task.due_at)
        task.created_label = _minute(task.created_at)
    hx = bool(request.headers.get("HX-Request"))
    now = timezone.now()
    task_base = _task_base()
    context = {
        "page": page,
        # the rows in Python: the template's row loop cost half of the page (row_html.py)
        "rows_html": task_rows_html(
            page.object_list, view=view, now=now, task_base=task_base, user_id=request.user.pk
        ),
        # "Approve selected" only where there is something the user may select
        "bulk": view != "completed"
        and any(t.approvable_by(request.user.pk) for t in page.object_list),
        "view": view,
        "sort": sort,
        "search": search,
        "now": now,
        # the badges arrive from inbox_counts right after the page (and after each live update)
        "views": [(key, label, key in COUNTED) for key, label in VIEW_LABELS],
        "sorts": SORT_LABELS,
        "query": page_query(view=view, sort=sort, q=search),
        "last_event": last_event,
        "task_base": task_base,
    }
    if hx:
        response = render(request, "inbox/_task_rows.html", context)
        response["HX-Trigger"] = "counts-refresh"  # the list changed: the badges follow
        return response
    return render(request, "inbox/list.html", context)


@login_required
def inbox_counts(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The count badges (capped at 99+), swapped into the inbox's tabs out of band. Apart from
    the list, so that the list (and a live update of it) does not wait for six counts."""
    counts = selectors.inbox_counts(user=request.user)
    return render(
        request,
        "inbox/_counts.html",
        {"counts": [(key, counts[key]) for key, _ in VIEW_LABELS if key in counts]},
    )


def _task_or_404(request: AuthenticatedHttpRequest, task_id: int):
    try:
        return selectors.task_get_for_user(user=request.user, task_id=task_id)
    except FlowgateError:
        raise Http404("This task does not exist or is not offered to you.") from None


def _task_page(
    request: AuthenticatedHttpRequest, task, *, errors: dict | None = None, values=None, status=200
):
    instance = task.instance
    progress = selectors.approval_progress([task])
    # Who may hold and decide it (the rule every service applies): why not this user, and the
    # people the delegate / reassign pickers offer.
    rule = selectors.task_eligibility(task)
    open_task = task.status == "open"
    refused = rule.refusal(request.user, you=True) if open_task and task.is_approval else None
    handover = [p for p in rule.people() if p.pk != request.user.pk] if open_task else []
    state = selectors.request_state(instance=instance)
    process_name, _summary = selectors.task_describe(task)
    return render(
        request,
        "inbox/task.html",
        {
            "task": task,
            "process_name": process_name,
            "approvals_so_far": progress.get((task.instance_id, task.activity_id)),
            "four_eyes_blocked": refused is not None,
            "four_eyes_message": refused.message if refused else "",
            "handover_people": handover,
            "complete_url": reverse("api-task-complete", args=[task.pk]),
            "errors": errors or {},
            "values": values or {},
            "comments": selectors.comments_of(instance_id=instance.pk),
            "attachments": selectors.attachments_of(instance_id=instance.pk),
            "history": selectors.history_of(instance_id=instance.pk),
            "diagram_xml": instance.version.xml,
            "current_activities": sorted({s["activity_id"] for s in state.current_steps}),
            "current_labels": activity_labels(
                instance.version, sorted({s["activity_id"] for s in state.current_steps})
            ),
            "done_labels": activity_labels(instance.version, state.done_activities),
            "done_activities": state.done_activities,
            "max_upload": services.attachment_limits()[0],
            "now": timezone.now(),
        },
        status=status,
    )


@login_required
def task_detail(request: AuthenticatedHttpRequest, task_id: int) -> HttpResponse:
    return _task_page(request, _task_or_404(request, task_id))


def _task_action(
    request: AuthenticatedHttpRequest, task_id: int, action, success: str
) -> HttpResponse:
    return run_action(request, action, success=success, back=reverse("inbox:task", args=[task_id]))


@login_required
@require_POST
def task_claim(request: AuthenticatedHttpRequest, task_id: int) -> HttpResponse:
    actor = Actor.for_user(request.user)
    return _task_action(
        request,
        task_id,
        lambda: services.task_claim(task_id=task_id, user=request.user, actor=actor),
        "You claimed the task.",
    )


@login_required
@require_POST
def task_unclaim(request: AuthenticatedHttpRequest, task_id: int) -> HttpResponse:
    actor = Actor.for_user(request.user)
    return _task_action(
        request,
        task_id,
        lambda: services.task_unclaim(task_id=task_id, user=request.user, actor=actor),
        "The task is back in the shared inbox.",
    )


def _hand_over(
    request: AuthenticatedHttpRequest, task_id: int, service, success: str
) -> HttpResponse:
    """Delegate and reassign from the task page: the same form, one service each."""
    actor = Actor.for_user(request.user)
    form = HandOverForm(request.POST)
    to = form.cleaned_data["username"] if form.is_valid() else ""
    return _task_action(
        request,
        task_id,
        lambda: service(task_id=task_id, user=request.user, to_username=to, actor=actor),
        success.format(to=to),
    )


@login_required
@require_POST
def task_delegate(request: AuthenticatedHttpRequest, task_id: int) -> HttpResponse:
    return _hand_over(
        request,
        task_id,
        services.task_delegate,
        "Delegated to {to}; it comes back to you once they resolve it.",
    )


@login_required
@require_POST
def task_reassign(request: AuthenticatedHttpRequest, task_id: int) -> HttpResponse:
    return _hand_over(request, task_id, services.task_reassign, "Reassigned to {to}.")


@login_required
@require_POST
def task_decide(request: AuthenticatedHttpRequest, task_id: int) -> HttpResponse:
    """Approve / reject (approval tasks) or complete (tasks without a form) from plain buttons.
    Errors are shown on the fields of the re-rendered page (400)."""
    task = _task_or_404(request, task_id)
    actor = Actor.for_user(request.user)
    form = DecisionForm(request.POST)
    form.is_valid()  # every field is optional text: always valid
    decision = form.cleaned_data.get("decision") or None
    comment = form.comment_text()
    data: dict = {"comment": comment}
    if decision in ("approve", "reject"):
        data["approved"] = decision == "approve"
    try:
        services.task_complete(task_id=task_id, user=request.user, data=data, actor=actor)
    except InvalidInput as exc:
        errors = {
            d["field"]: d["message"] for d in exc.details if isinstance(d, dict) and d.get("field")
        }
        messages.error(request, exc.message)
        return _task_page(request, task, errors=errors, values={"comment": comment}, status=400)
    except FlowgateError as exc:
        messages.error(request, exc.message)
        return redirect("inbox:task", task_id=task_id)
    messages.success(
        request,
        {"approve": "Approved.", "reject": "Rejected."}.get(decision or "", "Task completed."),
    )
    return redirect("inbox:list")


@login_required
@require_POST
def bulk_approve(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Approve the selected tasks in two steps: the first POST shows what would be approved
    (names and count) and asks; only the confirming POST (``confirm=yes``) approves."""
    form = BulkApproveForm(request.POST)
    ids = form.task_ids()
    if not ids:
        messages.error(request, "Select at least one task to approve.")
        return redirect("inbox:list")
    ids = ids[:100]
    if not form.confirmed():
        rows = [
            t
            for t in selectors.tasks_chosen(user=request.user, task_ids=ids)
            if t.approvable_by(request.user.pk)
        ]
        if not rows:
            messages.error(request, "None of the selected tasks can be approved by you now.")
            return redirect("inbox:list")
        selectors.rows_describe(rows)  # the process names the inbox rows show
        return render(request, "inbox/bulk_confirm.html", {"rows": rows, "count": len(rows)})
    results = services.tasks_bulk_approve(
        task_ids=ids, user=request.user, actor=Actor.for_user(request.user)
    )
    done = [r for r in results if r.ok]
    if done:
        messages.success(request, f"Approved {len(done)} task(s).")
    for result in results:
        if not result.ok:
            messages.error(request, f"Task {result.task_id}: {result.message}")
    return redirect("inbox:list")


@login_required
@require_POST
def task_comment(request: AuthenticatedHttpRequest, task_id: int) -> HttpResponse:
    task = _task_or_404(request, task_id)
    actor = Actor.for_user(request.user)
    body = CommentForm(request.POST).body_text()
    return _task_action(
        request,
        task_id,
        lambda: services.comment_add(
            instance=task.instance,
            task=task,
            user=request.user,
            body=body,
            actor=actor,
        ),
        "Comment added.",
    )


@login_required
@require_POST
def task_attach(request: AuthenticatedHttpRequest, task_id: int) -> HttpResponse:
    task = _task_or_404(request, task_id)
    actor = Actor.for_user(request.user)
    return _task_action(
        request,
        task_id,
        lambda: services.attachment_add(
            instance=task.instance,
            task=task,
            user=request.user,
            upload=request.FILES.get("file"),
            actor=actor,
        ),
        "File attached.",
    )


@login_required
def attachment_download(request: AuthenticatedHttpRequest, instance_id: int, attachment_id: int):
    try:
        selectors.request_get(user=request.user, instance_id=instance_id)
    except FlowgateError:
        raise Http404("No such file.") from None
    attachment = selectors.attachments_of(instance_id=instance_id).filter(pk=attachment_id).first()
    if attachment is None:
        raise Http404("No such file.")
    return FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.name,
        content_type=attachment.content_type,
    )


@login_required
def inbox_settings(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Out of office (substitute and period) and e-mail notification preferences."""
    errors: dict[str, str] = {}
    values: Any = {}  # what the substitution form posted, shown again with its errors
    actor = Actor.for_user(request.user)
    if request.method == "POST":
        form = SettingsPostForm(request.POST).which()
        if form == "notifications":
            prefs_form = NotificationSettingsForm(request.POST)
            prefs_form.is_valid()  # two check boxes: always valid
            services.notification_settings_update(
                user=request.user,
                email_on_assignment=prefs_form.cleaned_data["email_on_assignment"],
                email_on_escalation=prefs_form.cleaned_data["email_on_escalation"],
            )
            messages.success(request, "Notification settings saved.")
            return redirect("inbox:settings")
        if form == "end":
            substitution_id = SubstitutionEndForm(request.POST).substitution_id()
            return run_action(
                request,
                lambda: services.substitution_end(
                    substitution_id=substitution_id, user=request.user, actor=actor
                ),
                success="Substitution ended.",
                back=reverse("inbox:settings"),
            )
        period = SubstitutionForm(request.POST)
        values = period.data
        errors = {} if period.is_valid() else period.field_errors()
        if not errors:
            try:
                services.substitution_set(
                    user=request.user,
                    substitute_username=period.cleaned_data["substitute"],
                    starts_at=period.cleaned_data["starts_at"],
                    ends_at=period.cleaned_data["ends_at"],
                    actor=actor,
                )
            except InvalidInput as exc:
                errors = {d["field"]: d["message"] for d in exc.details if d.get("field")}
                errors.setdefault("substitute", exc.message)
            else:
                messages.success(request, "Your substitute is set.")
                return redirect("inbox:settings")
    prefs = NotificationSettings.objects.filter(user=request.user).first()
    return render(
        request,
        "inbox/settings.html",
        {
            "substitutions": selectors.substitutions_of(user=request.user),
            "prefs": prefs,
            "errors": errors,
            "values": values,
            "now": timezone.now(),
        },
        status=400 if errors else 200,
    )


@login_required
def instance_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = InstanceListForm(request.GET)
    form.is_valid()  # optional text fields: always valid
    status = form.cleaned_data.get("status") or ""
    process_key = form.cleaned_data.get("process") or ""
    qs = engine_selectors.instance_list(user=request.user, status=status, process_key=process_key)
    return render(
        request,
        "inbox/instances.html",
        {
            "page": paginate(request, qs),
            "status": status,
            "query": page_query(status=status, process=process_key),  # page links keep them
        },
    )


@login_required
def instance_detail(request: AuthenticatedHttpRequest, instance_id: int) -> HttpResponse:
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
def instance_operate(
    request: AuthenticatedHttpRequest, instance_id: int, operation: str
) -> HttpResponse:
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
