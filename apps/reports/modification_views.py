"""The console's "move token" page (issue #21, instance modification): choose the active element
and any step of the model, type the reason, see what would be cancelled and started (a dry run),
then confirm. Operators only (admins and managers). Thin: the form parses,
``apps.engine.operator_services`` acts."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from apps.accounts.requests import AuthenticatedHttpRequest
from apps.common.actors import Actor
from apps.common.errors import FlowgateError, NotFound
from apps.common.pages import role_required
from apps.engine import operator_services
from apps.engine.models import ProcessInstance
from apps.reports.views import OPERATOR_ROLES


class TokenMoveForm(forms.Form):
    """From (an active element), to (any step), the reason; a real move needs the confirmation."""

    source = forms.ChoiceField(label="Move the token from")
    target = forms.ChoiceField(label="to")
    reason = forms.CharField(label="Reason", max_length=500, strip=True)
    confirm = forms.BooleanField(required=False)

    def __init__(self, *args: Any, options: operator_services.MoveOptions, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        source = cast(forms.ChoiceField, self.fields["source"])
        source.choices = [(e.activity_id, _label(e)) for e in options.active]
        target = cast(forms.ChoiceField, self.fields["target"])
        target.choices = [(e.activity_id, _label(e)) for e in options.targets]


def _label(element: Any) -> str:
    return f"{element.name or element.activity_id} ({element.activity_id} · {element.type})"


@role_required(*OPERATOR_ROLES)
def instance_move_token(request: AuthenticatedHttpRequest, instance_id: int) -> HttpResponse:
    """GET with a choice: the preview (nothing changes). POST with the confirmation: the move,
    then back to the instance page."""
    item = get_object_or_404(ProcessInstance.objects.select_related("version"), pk=instance_id)
    options = operator_services.instance_move_options(instance=item)
    posted = request.method == "POST"
    data = request.POST if posted else (request.GET if "source" in request.GET else None)
    form = TokenMoveForm(data, options=options)
    preview = None
    if form.is_valid():
        if posted and not form.cleaned_data["confirm"]:
            form.add_error("confirm", "Tick the confirmation box to move the token.")
        else:
            try:
                preview = operator_services.instance_token_move(
                    instance_id=item.pk,
                    from_activity_id=form.cleaned_data["source"],
                    to_activity_id=form.cleaned_data["target"],
                    reason=form.cleaned_data["reason"],
                    dry_run=not posted,
                    actor=Actor.for_user(request.user),
                )
            except NotFound as exc:
                raise Http404(exc.message) from None
            except FlowgateError as exc:
                form.add_error(None, exc.message)
            else:
                if posted:
                    messages.success(
                        request,
                        f"The token moved from {preview['from']} to {preview['to']}; now "
                        f"waiting at: {', '.join(preview['waiting_after']) or 'nothing (ended)'}.",
                    )
                    return redirect("reports:instance", instance_id=item.pk)
    return render(
        request,
        "reports/move_token.html",
        {"instance": item, "form": form, "preview": preview, "options": options},
    )
