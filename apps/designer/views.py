"""Designer pages: the process list, the template gallery, the bpmn-js editor, the test run."""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from apps.accounts.roles import Role
from apps.audit.services import Actor
from apps.common.errors import FlowgateError, InvalidInput
from apps.common.pages import paginate, role_required
from apps.connectors.selectors import connector_choices
from apps.designer import selectors as designer_selectors
from apps.engine import services as engine
from apps.processes import gallery, selectors, services
from apps.processes.selectors import STATUS_FILTERS

DESIGNERS = (Role.DESIGNER, Role.ADMIN)


@role_required(*DESIGNERS)
def process_list(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "").strip()[:200]
    status = request.GET.get("status", "")
    status = status if status in STATUS_FILTERS else ""
    page = paginate(request, selectors.definitions_list(search=search, status=status))
    counts = designer_selectors.open_instance_counts(keys=[d.key for d in page.object_list])
    for definition in page.object_list:
        definition.open_instances = counts.get(definition.key, 0)
    return render(request, "designer/list.html", {"page": page, "search": search, "status": status})


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
    try:
        result = services.version_deploy(
            xml=upload.read(),
            actor=Actor.for_user(request.user),
            user=request.user,
            comment=request.POST.get("comment", ""),
        )
    except FlowgateError as exc:
        messages.error(request, exc.message)
        return redirect("designer:list")
    version = result.version
    if result.deployed:
        messages.success(request, f"Deployed {version.definition.key} version {version.number}.")
    else:
        messages.warning(
            request,
            f"Saved as draft version {version.number}: {len(version.problems)} problem(s) to fix.",
        )
    return redirect("designer:edit", key=version.definition.key)


def _editor(request: HttpRequest, **context) -> HttpResponse:
    context.setdefault("key", None)
    context.setdefault("definition", None)
    context.setdefault("versions", [])
    context["connectors"] = connector_choices()  # suggestions for the connector field
    return render(request, "designer/edit.html", context)


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


@role_required(*DESIGNERS)
def process_edit(request: HttpRequest, key: str | None = None) -> HttpResponse:
    if not key:
        return _editor(request)
    try:
        definition = selectors.definition_get(key=key)
    except FlowgateError:
        raise Http404(f"No process '{key}'.") from None
    return _editor(
        request,
        key=key,
        definition=definition,
        versions=list(selectors.versions_of(key=key)[:50]),
        xml_url=reverse("designer:xml", args=[key]),
    )


@role_required(*DESIGNERS)
def process_xml(request: HttpRequest, key: str) -> HttpResponse:
    xml = selectors.latest_xml(key=key)
    if xml is None:
        raise Http404(f"No process '{key}'.")
    return HttpResponse(xml, content_type="application/xml")


@role_required(*DESIGNERS)
def process_test_run(request: HttpRequest, key: str) -> HttpResponse:
    """Start an instance of the latest deployed version with variables typed as JSON."""
    if request.method != "POST":
        return redirect("designer:edit", key=key)
    try:
        raw = request.POST.get("variables", "").strip() or "{}"
        try:
            variables = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InvalidInput(
                f"Variables are not valid JSON: {exc.msg} (line {exc.lineno})."
            ) from None
        instance = engine.instance_start(
            process_key=key,
            variables=variables,
            business_key=request.POST.get("business_key", "")[:200],
            actor=Actor.for_user(request.user),
            started_by=request.user,
        )
    except FlowgateError as exc:
        messages.error(request, exc.message)
        return redirect("designer:edit", key=key)
    messages.success(request, f"Started instance #{instance.pk}.")
    return redirect("inbox:instance", instance_id=instance.pk)
