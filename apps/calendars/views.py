"""Admin pages: list, create and change business calendars."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from apps.accounts.roles import Role
from apps.calendars import selectors
from apps.calendars.forms import CalendarForm
from apps.calendars.services import calendar_save
from apps.common.actors import Actor
from apps.common.errors import InvalidInput
from apps.common.pages import role_required
from apps.engine.core.business_time import CalendarError

ADMIN_ONLY = "Business calendars are managed by admins."


@role_required(Role.ADMIN, message=ADMIN_ONLY)
def calendar_list(request: HttpRequest) -> HttpResponse:
    return render(request, "calendars/list.html", {"calendars": selectors.calendars_list()})


def _upcoming_closed(calendar, days: int = 60) -> list[str]:
    """The closed working-week dates in the next ``days`` days, for the edit page."""
    try:
        calc = selectors.calculator_of(calendar)
    except CalendarError:
        return []
    today = timezone.now().date()
    span = (today + timedelta(days=i) for i in range(days))
    return [d.isoformat() for d in span if d in calc.closed]


@role_required(Role.ADMIN, message=ADMIN_ONLY)
def calendar_edit(request: HttpRequest, slug: str = "") -> HttpResponse:
    """GET shows the form; POST saves it. Errors come back on the fields (400)."""
    calendar = None
    if slug:
        calendar = selectors.calendar_named(slug)
        if calendar is None:
            raise Http404("There is no such calendar.")
    if request.method == "POST":
        form = CalendarForm(request.POST, editing=calendar is not None, initial={"slug": slug})
        if form.is_valid():
            try:
                saved = calendar_save(
                    slug=slug or form.cleaned_data["slug"],
                    values=form.values(),
                    actor=Actor.for_user(request.user),
                    user=request.user,
                    create=calendar is None,
                )
            except InvalidInput as exc:
                for detail in exc.details:
                    form.add_error(
                        detail.get("field") if detail.get("field") in form.fields else None,
                        detail["message"],
                    )
            else:
                messages.success(request, f"The calendar “{saved.name}” is saved.")
                return redirect("calendars:list")
        messages.error(request, "The calendar was not saved: correct the marked fields.")
        status = 400
    else:
        form = CalendarForm(
            initial=CalendarForm.initial_for(calendar) if calendar else None,
            editing=calendar is not None,
        )
        status = 200
    return render(
        request,
        "calendars/edit.html",
        {
            "form": form,
            "calendar": calendar,
            "day_fields": [form[d] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")],
            "upcoming_closed": _upcoming_closed(calendar) if calendar else [],
        },
        status=status,
    )
