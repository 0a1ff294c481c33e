""" "More information needed" from the pages: the approver asks on the task page, the requester
answers on the request page. Thin: a Form, one service (the API calls the same ones)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.accounts.requests import AuthenticatedHttpRequest
from apps.common.actors import Actor
from apps.common.pages import run_action
from apps.inbox import services
from apps.inbox.forms import InfoAnswerForm, InfoRequestForm


@login_required
@require_POST
def task_request_info(request: AuthenticatedHttpRequest, task_id: int) -> HttpResponse:
    question = InfoRequestForm(request.POST).question_text()
    actor = Actor.for_user(request.user)
    return run_action(
        request,
        lambda: services.task_info_request(
            task_id=task_id, user=request.user, question=question, actor=actor
        ),
        success="Sent back to the requester; the SLA clock is paused until they answer.",
        back=reverse("inbox:task", args=[task_id]),
    )


@login_required
@require_POST
def request_answer(
    request: AuthenticatedHttpRequest, instance_id: int, task_id: int
) -> HttpResponse:
    form = InfoAnswerForm(request.POST, request.FILES)
    answer, upload = form.answer_text(), form.upload()
    actor = Actor.for_user(request.user)
    return run_action(
        request,
        lambda: services.task_info_provide(
            task_id=task_id, user=request.user, answer=answer, upload=upload, actor=actor
        ),
        success="Thank you: your answer went back to the approver.",
        back=reverse("requests:detail", args=[instance_id]),
    )
