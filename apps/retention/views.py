"""The retention page (admins): per-process periods and legal holds, instance holds, the portal
default, recent purge runs and archives, and checking an archive against the audit chain.
Thin: a Form per POST, one audited service or selector (the API calls the same ones)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.accounts.roles import Role
from apps.common.actors import Actor
from apps.common.errors import FlowgateError
from apps.common.pages import role_required
from apps.retention.forms import ArchiveCheckForm, DefaultForm, HoldForm, PolicyForm, ReleaseForm
from apps.retention.selectors import archive_check, retention_overview
from apps.retention.services import (
    instance_hold_set,
    retention_default_set,
    retention_policy_set,
)

ADMIN_ONLY = "Retention and legal holds are managed by admins."
CHECK_REASONS = {
    "not_archived": "there is no archive of this instance",
    "no_purge_event": "no audited purge run recorded this archive",
    "archive_missing": "the archive file is missing",
    "archive_changed": "the archive file was changed after the purge",
    "index_changed": "the archive's index row was changed",
}


def _page(request: HttpRequest, *, status: int = 200, **forms) -> HttpResponse:
    context = {
        "policy_form": PolicyForm(),
        "default_form": DefaultForm(),
        "hold_form": HoldForm(),
        **forms,
        **retention_overview(),
        "check": request.session.pop("retention_check", None),
    }
    return render(request, "retention/page.html", context, status=status)


@role_required(Role.ADMIN, message=ADMIN_ONLY)
def retention_page(request: HttpRequest) -> HttpResponse:
    return _page(request)


def _run(request: HttpRequest, action, success: str) -> bool:
    try:
        action()
    except FlowgateError as exc:
        messages.error(request, exc.message)
        return False
    messages.success(request, success)
    return True


def _submit(
    request: HttpRequest, form, *, slot: str, invalid: str, action, success
) -> HttpResponse:
    """One POST of the page: a bound form in the page's ``slot``; if valid, ``action(data)``
    (one audited service) and back to the page with ``success(data)``; else the page with the
    form's errors and a 400."""
    if not form.is_valid():
        messages.error(request, invalid)
        return _page(request, status=400, **{slot: form})
    data = form.cleaned_data
    if _run(request, lambda: action(data), success(data)):
        return redirect("retention:page")
    return _page(request, status=400, **{slot: form})


def _default_message(days: int | None) -> str:
    if days is None:
        return "The portal default now follows the environment setting."
    return (
        f"The portal default is now {days} days."
        if days
        else ("The portal default now keeps everything.")
    )


def _default_days(data: dict) -> int | None:
    return None if data["use_environment"] else data["days"]


@require_POST
@role_required(Role.ADMIN, message=ADMIN_ONLY)
def policy_save(request: HttpRequest) -> HttpResponse:
    return _submit(
        request,
        PolicyForm(request.POST),
        slot="policy_form",
        invalid="The policy was not saved: correct the marked fields.",
        action=lambda data: retention_policy_set(
            process_key=data["process_key"],
            days=data["days"],
            legal_hold=data["legal_hold"],
            reason=data["reason"],
            actor=Actor.for_user(request.user),
            user=request.user,
        ),
        success=lambda data: f"The retention policy of {data['process_key']} is saved.",
    )


@require_POST
@role_required(Role.ADMIN, message=ADMIN_ONLY)
def default_save(request: HttpRequest) -> HttpResponse:
    return _submit(
        request,
        DefaultForm(request.POST),
        slot="default_form",
        invalid="The portal default was not saved: correct the marked fields.",
        action=lambda data: retention_default_set(
            days=_default_days(data), actor=Actor.for_user(request.user), user=request.user
        ),
        success=lambda data: _default_message(_default_days(data)),
    )


@require_POST
@role_required(Role.ADMIN, message=ADMIN_ONLY)
def hold_set(request: HttpRequest) -> HttpResponse:
    return _submit(
        request,
        HoldForm(request.POST),
        slot="hold_form",
        invalid="The legal hold was not set: correct the marked fields.",
        action=lambda data: instance_hold_set(
            instance_id=data["instance_id"],
            hold=True,
            reason=data["reason"],
            actor=Actor.for_user(request.user),
            user=request.user,
        ),
        success=lambda data: (
            f"Instance {data['instance_id']} is on legal hold: it will not be purged."
        ),
    )


@require_POST
@role_required(Role.ADMIN, message=ADMIN_ONLY)
def hold_release(request: HttpRequest) -> HttpResponse:
    form = ReleaseForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give a reason for releasing the legal hold.")
        return redirect("retention:page")
    data = form.cleaned_data
    _run(
        request,
        lambda: instance_hold_set(
            instance_id=data["instance_id"],
            hold=False,
            reason=data["reason"],
            actor=Actor.for_user(request.user),
            user=request.user,
        ),
        f"The legal hold on instance {data['instance_id']} is released.",
    )
    return redirect("retention:page")


@require_POST
@role_required(Role.ADMIN, message=ADMIN_ONLY)
def archive_check_view(request: HttpRequest) -> HttpResponse:
    form = ArchiveCheckForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose an archive to check.")
        return redirect("retention:page")
    instance_id = form.cleaned_data["instance_id"]
    result = archive_check(instance_id)
    if result["ok"]:
        chained = "and its purge event is in the chain" if result.get("chained") else ""
        messages.success(
            request,
            f"The archive of instance {instance_id} is intact: its SHA-256 matches the audited "
            f"purge run {chained}".strip()
            + ".",
        )
    else:
        reason = CHECK_REASONS.get(result["reason"], result["reason"])
        messages.error(request, f"The archive of instance {instance_id} fails the check: {reason}.")
    request.session["retention_check"] = {"instance_id": instance_id, **result}
    return redirect("retention:page")
