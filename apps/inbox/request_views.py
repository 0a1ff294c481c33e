"""The requester's pages: the catalog (/requests/new/), a start form, My requests (/requests/)
and one request's page. Thin: parse, call one service or selector, render."""

from __future__ import annotations

from itertools import groupby

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.accounts.requests import AuthenticatedHttpRequest
from apps.common.actors import Actor
from apps.common.errors import FlowgateError, InvalidInput
from apps.common.pages import page_query, paginate, run_action
from apps.inbox import selectors, services
from apps.inbox.forms import CommentForm, ConfirmForm, SearchForm
from apps.inbox.model_rules import activity_labels


@login_required
def catalog(request: AuthenticatedHttpRequest) -> HttpResponse:
    search = SearchForm(request.GET).search()
    entries = selectors.catalog(user=request.user, search=search)
    groups = [(category, list(items)) for category, items in groupby(entries, lambda e: e.category)]
    return render(request, "requests/catalog.html", {"groups": groups, "search": search})


@login_required
def start(request: AuthenticatedHttpRequest, key: str) -> HttpResponse:
    try:
        entry = selectors.catalog_entry(user=request.user, key=key)
    except FlowgateError:
        raise Http404("There is no such process that you may start.") from None
    return render(
        request,
        "requests/start.html",
        {"entry": entry, "submit_url": reverse("api-requests")},
    )


@login_required
def my_requests(request: AuthenticatedHttpRequest) -> HttpResponse:
    filters = SearchForm(request.GET)
    status, search = filters.status_filter(), filters.search()
    try:
        qs = selectors.my_requests(user=request.user, status=status, search=search)
    except InvalidInput:
        status, qs = "", selectors.my_requests(user=request.user, search=search)
    # the feed's position first: an event committed while the page is read is then heard again
    # (one refresh too many), never skipped (a page showing the older state forever)
    last_event = selectors.last_event_id()
    page = paginate(request, qs)
    summaries = selectors.request_summaries(instances=page.object_list, user=request.user)
    for instance in page.object_list:
        instance.state_now = summaries[instance.pk]
    return render(
        request,
        "requests/list.html",
        {
            "page": page,
            "status": status,
            "search": search,
            "query": page_query(status=status, q=search),  # page links keep the filters
            "last_event": last_event,
        },
    )


def _request_or_404(request: AuthenticatedHttpRequest, instance_id: int, *, to_write: bool = False):
    try:
        return selectors.request_get(user=request.user, instance_id=instance_id, to_write=to_write)
    except FlowgateError:
        raise Http404("This request does not exist or is not visible to you.") from None


@login_required
def detail(request: AuthenticatedHttpRequest, instance_id: int) -> HttpResponse:
    last_event = selectors.last_event_id()  # before the state: see my_requests
    instance = _request_or_404(request, instance_id)
    state = selectors.request_state(instance=instance, user=request.user)
    return render(
        request,
        "requests/detail.html",
        {
            "instance": instance,
            "state": state,
            "comments": selectors.comments_of(instance_id=instance.pk),
            "attachments": selectors.attachments_of(instance_id=instance.pk),
            "history": selectors.history_of(instance_id=instance.pk),
            "diagram_xml": instance.version.xml,
            "current_activities": sorted({s["activity_id"] for s in state.current_steps}),
            "current_labels": activity_labels(
                instance.version, sorted({s["activity_id"] for s in state.current_steps})
            ),
            "done_labels": activity_labels(instance.version, state.done_activities),
            "last_event": last_event,
        },
    )


@login_required
@require_POST
def cancel(request: AuthenticatedHttpRequest, instance_id: int) -> HttpResponse:
    back = reverse("requests:detail", args=[instance_id])
    if not ConfirmForm(request.POST).confirmed():  # withdrawing cannot be undone (as the console)
        messages.error(request, "Confirm first: tick “Yes, withdraw this request”.")
        return redirect(back)
    actor = Actor.for_user(request.user)
    return run_action(
        request,
        lambda: services.request_cancel(instance_id=instance_id, user=request.user, actor=actor),
        success="Your request was withdrawn.",
        back=reverse("requests:detail", args=[instance_id]),
    )


@login_required
@require_POST
def comment(request: AuthenticatedHttpRequest, instance_id: int) -> HttpResponse:
    instance = _request_or_404(request, instance_id, to_write=True)
    actor = Actor.for_user(request.user)
    body = CommentForm(request.POST).body_text()
    return run_action(
        request,
        lambda: services.comment_add(instance=instance, user=request.user, body=body, actor=actor),
        success="Comment added.",
        back=reverse("requests:detail", args=[instance_id]),
    )
