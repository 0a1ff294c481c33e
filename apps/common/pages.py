"""Small helpers shared by server-rendered pages."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect

from apps.common.errors import FlowgateError, NotFound


def role_required(*roles: str, message: str = "") -> Callable:
    """The one role check of server-rendered pages (the API's is ``apps.common.api.HasRole``).

    Anonymous -> login page; signed in without one of ``roles`` -> 403 with ``message`` (or one
    naming the roles).
    """

    def decorate(view):
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not request.user.has_role(*roles):
                raise PermissionDenied(
                    message or f"This page needs one of the roles: {', '.join(roles)}."
                )
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


class PageForm(forms.Form):
    """A list page's ``?page=N``: anything but a whole number from 1 is the first page (a
    number past the end is the last page, ``Paginator.get_page``)."""

    page = forms.IntegerField(required=False, min_value=1)

    def number(self) -> int:
        return (self.cleaned_data.get("page") or 1) if self.is_valid() else 1


def paginate(request: HttpRequest, queryset, per_page: int = 25):
    return Paginator(queryset, per_page).get_page(PageForm(request.GET).number())


def page_query(**params: str) -> str:
    """The filters a list page keeps on its page links (components/pagination.html's ``query``):
    the non-empty ones, URL-encoded (a search for "R&D" or "#160" stays one value), ending in "&"
    so that "page=N" follows; "" without filters."""
    kept = {name: value for name, value in params.items() if value}
    return urlencode(kept) + "&" if kept else ""


def run_action(
    request: HttpRequest,
    action: Callable[[], object],
    *,
    success: str | Callable[[object], str],
    back: str,
) -> HttpResponse:
    """Run a service from a form POST: flash its success or its person-readable error, redirect.
    ``success`` may be a function of the service's result (a message saying what it did).

    An object the user may not see (NotFound) is a 404 page, not a redirect back to it: the same
    answer as for an object that does not exist (docs/security.md, IDOR).
    """
    try:
        result = action()
    except NotFound as exc:
        raise Http404(exc.message) from None
    except FlowgateError as exc:
        messages.error(request, exc.message)
        for detail in exc.details[:10]:
            if isinstance(detail, dict) and detail.get("message"):
                messages.error(
                    request,
                    f"{detail.get('field') or detail.get('element_id') or ''} {detail['message']}".strip(),
                )
    else:
        messages.success(request, success if isinstance(success, str) else success(result))
    return redirect(back)
