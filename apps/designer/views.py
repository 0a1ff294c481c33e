"""Designer pages: the process list, the template gallery, the bpmn-js editor, the test run."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from apps.accounts.roles import Role
from apps.common.actors import Actor
from apps.common.errors import FlowgateError, InvalidInput
from apps.common.pages import page_query, paginate, role_required
from apps.designer import selectors as designer_selectors
from apps.designer import testrun
from apps.designer.forms import (
    DeployCommentForm,
    DraftNameForm,
    ProcessListForm,
    RollbackForm,
    ShareForm,
    VersionCompareForm,
    VersionXmlForm,
)
from apps.designer.hooks import process_badges
from apps.engine import selectors as engine_selectors
from apps.processes import (
    decision_selectors,
    decisions,
    drafts,
    gallery,
    selectors,
    services,
    sharing,
)
from apps.processes import diff as process_diff
from apps.processes.models import ProcessDefinition

DESIGNERS = (Role.DESIGNER, Role.ADMIN)
MAX_LISTED_DRAFTS = 50
NOT_A_DESIGNER = "This page needs one of the roles: designer, admin."


def viewer_required(view: Callable) -> Callable:
    """Pages of one process (``key``) that are read-only: designers and admins, and people the
    process was shared with. Anyone else gets the same 403 whether or not the process exists."""

    @wraps(view)
    def wrapper(request: HttpRequest, key: str, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not sharing.can_edit(request.user):
            definition = ProcessDefinition.objects.filter(key=key).first()
            if definition is None or not sharing.can_view(request.user, definition):
                raise PermissionDenied(NOT_A_DESIGNER)
        return view(request, key, *args, **kwargs)

    return wrapper


def process_list(request: HttpRequest) -> HttpResponse:
    """Designers and admins: every process. Anyone a process was shared with: those, read-only.
    Everyone else: 403."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    can_edit = sharing.can_edit(request.user)
    if (
        not can_edit
        and not sharing.definitions_visible(request.user, ProcessDefinition.objects.all()).exists()
    ):
        raise PermissionDenied(NOT_A_DESIGNER)
    search, status = ProcessListForm(request.GET).filters()
    definitions = selectors.definitions_list(search=search, status=status)
    page = paginate(request, sharing.definitions_visible(request.user, definitions))
    keys = [d.key for d in page.object_list]
    counts = designer_selectors.open_instance_counts(keys=keys)
    badges = process_badges(keys)  # e.g. "SLO at risk", from reports (designer/hooks.py)
    for definition in page.object_list:
        definition.open_instances = counts.get(definition.key, 0)
        definition.badges = badges.get(definition.key, [])
    own_drafts = (
        list(drafts.drafts_of(user=request.user).defer("xml")[:MAX_LISTED_DRAFTS])
        if can_edit
        else []
    )
    context = {
        "page": page,
        "search": search,
        "status": status,
        "query": page_query(q=search, status=status),  # page links keep the filters
        "drafts": own_drafts,
        "can_edit": can_edit,
    }
    return render(request, "designer/list.html", context)


@role_required(*DESIGNERS)
def template_gallery(request: HttpRequest) -> HttpResponse:
    return render(request, "designer/gallery.html", {"templates": gallery.templates_list()})


@role_required(*DESIGNERS)
def template_xml(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        template = gallery.template_get(slug=slug)
    except FlowgateError:
        raise Http404(f"No template '{slug}'.") from None
    return HttpResponse(template.xml(), content_type="application/xml")


@role_required(*DESIGNERS)
def process_upload(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return redirect("designer:list")
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, "Choose a .bpmn file to upload.")
        return redirect("designer:list")
    data = upload.read()
    if decisions.is_dmn_file(data):
        return _dmn_upload(request, data)
    try:
        result = services.version_deploy(
            xml=data,
            actor=Actor.for_user(request.user),
            user=request.user,
            comment=DeployCommentForm(request.POST).comment_text(),
        )
    except FlowgateError as exc:
        messages.error(request, exc.message)
        return redirect("designer:list")
    version = result.version
    if result.deployed:
        messages.success(request, f"Deployed {version.definition.key} version {version.number}.")
    else:
        first = " ".join(p["message"] for p in version.problems[:3])
        more = len(version.problems) - 3
        messages.warning(
            request,
            f"Not deployed: {len(version.problems)} problem(s) to fix. {first}"
            f"{f' (and {more} more: Validate lists them all.)' if more > 0 else ''} The file is "
            "kept as your draft of the process; it gets a version number when it deploys.",
        )
    return redirect("designer:edit", key=version.definition.key)


def _dmn_upload(request: HttpRequest, data: bytes) -> HttpResponse:
    """A DMN file on the same upload: every decision in it gets a new version."""
    try:
        result = decisions.dmn_deploy(
            xml=data,
            actor=Actor.for_user(request.user),
            user=request.user,
            comment=DeployCommentForm(request.POST).comment_text(),
        )
    except FlowgateError as exc:
        found = " ".join(str(p.get("message", "")) for p in (exc.details or [])[:3])
        messages.error(request, f"{exc.message} {found}".strip())
        return redirect("designer:list")
    names = ", ".join(f"{v.key} version {v.number}" for v in result.versions)
    if result.created:
        messages.success(request, f"Deployed decisions: {names}.")
        for warning in result.warnings[:3]:
            messages.warning(request, warning["message"])
    else:
        messages.info(request, f"Unchanged: the latest deployment is the same file ({names}).")
    return redirect("designer:list")


def _editor(request: HttpRequest, **context) -> HttpResponse:
    context.setdefault("key", None)
    context.setdefault("definition", None)
    context.setdefault("versions", [])
    # suggestions for the connector field and its inputs (from each connector's schema)
    context["connectors"] = designer_selectors.connector_fields()
    context["roles"] = designer_selectors.role_names()  # the role and user pickers
    context["users"] = designer_selectors.usernames()
    context["calendars"] = designer_selectors.calendar_names()  # business calendar suggestions
    context["processes"] = designer_selectors.process_choices()  # call activity targets
    context["decisions"] = decision_selectors.decisions_list()  # business rule task targets
    if context.get("definition") is not None:
        context["viewers"] = sharing.process_viewers(definition=context["definition"])
    _with_running(request, context)
    return render(request, "designer/edit.html", context)


def _with_running(request: HttpRequest, context: dict) -> None:
    """Each version in the history says how many instances run on it; operators (admins and
    managers) get the link to move them to another version (issue #21)."""
    if not context.get("key") or not context.get("versions"):
        return
    running = engine_selectors.active_counts_by_version(process_key=context["key"])
    for version in context["versions"]:
        version.running = running.get(version.pk, 0)
    user = request.user
    context["can_migrate"] = user.is_authenticated and user.has_role(Role.ADMIN, Role.MANAGER)


@role_required(*DESIGNERS)
def process_from_template(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        template = gallery.template_get(slug=slug)
    except FlowgateError:
        raise Http404(f"No template '{slug}'.") from None
    return _editor(
        request,
        template=template,
        xml_url=reverse("designer:template-xml", args=[template.slug]),
    )


def process_edit(request: HttpRequest, key: str | None = None) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not sharing.can_edit(request.user):
        return _read_only_process(request, key)
    if not key:
        return _editor(request)
    draft = drafts.drafts_of(user=request.user).filter(key=key).first()
    try:
        definition = selectors.definition_get(key=key)
    except FlowgateError:
        if draft is None:
            raise Http404(f"No process '{key}'.") from None
        # Never deployed: the person's autosaved draft of a new process.
        return _editor(
            request, key=key, draft=draft, xml_url=reverse("designer:draft-xml", args=[key])
        )
    versions = list(selectors.versions_of(key=key)[:50])
    if draft is not None and versions and draft.updated_at <= versions[0].created_at:
        draft = None  # deployed since: the draft is older than the latest version
    deployed = next((v for v in versions if v.is_deployed), None)
    variables, stubs = testrun.testrun_defaults(xml=deployed.xml) if deployed else ({}, {})
    return _editor(
        request,
        key=key,
        definition=definition,
        versions=versions,
        deployed=deployed,
        draft=draft,
        xml_url=reverse("designer:draft-xml" if draft else "designer:xml", args=[key]),
        run_variables=json.dumps(variables, indent=1),
        run_stubs=json.dumps(stubs, indent=1),
        run_tasks=testrun.service_tasks_of(xml=deployed.xml) if deployed else [],
        run_start_form=testrun.start_form_of(xml=deployed.xml) if deployed else None,
        history=designer_selectors.process_history(key=key),
    )


def _read_only_process(request: HttpRequest, key: str | None) -> HttpResponse:
    """Someone the process was shared with opens it: its latest version, read-only (a viewer,
    no editor, no save, deploy, roll back or test run). Anyone else: 403."""
    definition = ProcessDefinition.objects.filter(key=key).first() if key else None
    if definition is None or not sharing.can_view(request.user, definition):
        raise PermissionDenied(NOT_A_DESIGNER)
    latest = selectors.versions_of(key=definition.key).first()
    if latest is None:
        raise Http404(f"Process '{key}' has no version yet.")
    return redirect("designer:version", key=definition.key, number=latest.number)


@role_required(*DESIGNERS)
def draft_xml(request: HttpRequest, key: str) -> HttpResponse:
    try:
        draft = drafts.draft_get(key=key, user=request.user)
    except FlowgateError:
        raise Http404(f"You have no draft of '{key}'.") from None
    return HttpResponse(draft.xml, content_type="application/xml")


@role_required(*DESIGNERS)
def draft_rename(request: HttpRequest, key: str) -> HttpResponse:
    """Rename one of your drafts (the list's rename form)."""
    if request.method != "POST":
        return redirect("designer:list")
    form = DraftNameForm(request.POST)
    try:
        if not form.is_valid():
            raise InvalidInput("Give the draft a name of at most 200 characters.")
        draft = drafts.draft_rename(key=key, user=request.user, name=form.cleaned_data["name"])
    except FlowgateError as exc:
        messages.error(request, exc.message)
        return redirect(f"{reverse('designer:list')}#drafts-title")
    messages.success(request, f"Renamed the draft to “{draft.name}”.")
    return redirect(f"{reverse('designer:list')}#drafts-title")


@role_required(*DESIGNERS)
def draft_discard(request: HttpRequest, key: str) -> HttpResponse:
    """Discard one of your drafts, after the list's confirmation step (POST only)."""
    if request.method != "POST":
        return redirect("designer:list")
    try:
        draft = drafts.draft_get(key=key, user=request.user)
    except FlowgateError as exc:
        messages.error(request, exc.message)
        return redirect("designer:list")
    drafts.draft_discard(key=key, user=request.user)
    messages.success(request, f"Discarded the draft “{draft.name or key}”.")
    return redirect("designer:list")


@role_required(*DESIGNERS)
def process_xml(request: HttpRequest, key: str) -> HttpResponse:
    xml = selectors.latest_xml(key=key)
    if xml is None:
        raise Http404(f"No process '{key}'.")
    return HttpResponse(xml, content_type="application/xml")


def _version_or_404(key: str, number: int):
    try:
        return selectors.version_by_number(key=key, number=number)
    except FlowgateError:
        raise Http404(f"Process '{key}' has no version {number}.") from None


@viewer_required
def version_view(request: HttpRequest, key: str, number: int) -> HttpResponse:
    """An earlier (or any) version, read-only, with compare and (for designers) roll-back."""
    version = _version_or_404(key, number)
    versions = list(selectors.versions_of(key=key))
    latest_deployed = next((v.number for v in versions if v.is_deployed), None)
    can_edit = sharing.can_edit(request.user)
    context = {
        "key": key,
        "definition": version.definition,
        "version": version,
        "versions": versions,
        "can_edit": can_edit,
        "can_roll_back": can_edit and version.is_deployed and version.number != latest_deployed,
    }
    _with_running(request, context)
    return render(request, "designer/version.html", context)


@viewer_required
def version_xml(request: HttpRequest, key: str, number: int) -> HttpResponse:
    version = _version_or_404(key, number)
    response = HttpResponse(version.xml, content_type="application/xml")
    if VersionXmlForm(request.GET).as_attachment():
        response["Content-Disposition"] = f'attachment; filename="{key}-v{number}.bpmn"'
    return response


@viewer_required
def version_compare(request: HttpRequest, key: str) -> HttpResponse:
    """Two versions side by side: elements added, removed and changed, on both diagrams and as
    a list of changed properties. Default: the latest version against the one before it."""
    try:
        selectors.definition_get(key=key)
    except FlowgateError:
        raise Http404(f"No process '{key}'.") from None
    form = VersionCompareForm(request.GET)
    if not form.is_valid():
        message = form.problem()
        return render(
            request, "400.html", {"heading": "Bad request", "message": message}, status=400
        )
    versions = list(selectors.versions_of(key=key))
    numbers = [v.number for v in versions]
    after = form.cleaned_data["to"] or numbers[0]
    before = form.cleaned_data["from_"] or next((n for n in numbers if n < after), after)
    old, new = _version_or_404(key, before), _version_or_404(key, after)
    diff = process_diff.versions_diff(before=old.xml, after=new.xml)
    left = {e.id: "fg-removed" for e in diff.removed} | {e.id: "fg-changed" for e in diff.changed}
    right = {e.id: "fg-added" for e in diff.added} | {e.id: "fg-changed" for e in diff.changed}
    return render(
        request,
        "designer/compare.html",
        {
            "key": key,
            "definition": old.definition,
            "versions": versions,
            "old": old,
            "new": new,
            "diff": diff,
            "left_markers": json.dumps(left),
            "right_markers": json.dumps(right),
            "can_edit": sharing.can_edit(request.user),
        },
    )


@role_required(*DESIGNERS)
def version_rollback(request: HttpRequest, key: str, number: int) -> HttpResponse:
    """Roll back = deploy version ``number`` again as a new version."""
    if request.method != "POST":
        return redirect("designer:version", key=key, number=number)
    version = _version_or_404(key, number)
    form = RollbackForm(request.POST)
    if not form.confirmed():  # as the operations console's cancel
        messages.error(request, "Confirm the rollback first (tick the confirmation box).")
        return redirect("designer:version", key=key, number=number)
    try:
        result = services.version_rollback(
            version_id=version.pk,
            actor=Actor.for_user(request.user),
            user=request.user,
            comment=form.comment_text(),
        )
    except FlowgateError as exc:
        messages.error(request, exc.message)
        return redirect("designer:version", key=key, number=number)
    messages.success(
        request,
        f"Rolled back: version {result.version.number} is version {number} deployed again.",
    )
    return redirect("designer:edit", key=key)


def _share(request: HttpRequest, key: str, change: Callable) -> HttpResponse:
    if request.method != "POST":
        return redirect("designer:edit", key=key)
    user, role = ShareForm(request.POST).user_and_role()
    try:
        definition = selectors.definition_get(key=key)
        change(
            definition=definition,
            actor=Actor.for_user(request.user),
            by=request.user,
            user=user,
            role=role,
        )
    except FlowgateError as exc:
        messages.error(request, exc.message)
        return redirect("designer:edit", key=key)
    who = user or f"everyone in the role {role}"
    granted = change is sharing.process_view_grant
    messages.success(
        request,
        f"{who} may now view {key} (read-only)." if granted else f"{who} may no longer view {key}.",
    )
    return redirect(f"{reverse('designer:edit', args=[key])}#sharing-title")


@role_required(*DESIGNERS)
def process_share(request: HttpRequest, key: str) -> HttpResponse:
    """Grant view access to a user or a role (designers and admins)."""
    return _share(request, key, sharing.process_view_grant)


@role_required(*DESIGNERS)
def process_unshare(request: HttpRequest, key: str) -> HttpResponse:
    """Take view access back."""
    return _share(request, key, sharing.process_view_revoke)
