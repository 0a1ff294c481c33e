from __future__ import annotations

import json

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from apps.accounts.roles import Role
from apps.common.actors import Actor
from apps.common.errors import FlowgateError, InvalidInput
from apps.common.pages import paginate, role_required
from apps.processes import selectors, services

DESIGNERS = (Role.DESIGNER, Role.ADMIN)


@role_required(*DESIGNERS)
def process_list(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "").strip()
    page = paginate(request, selectors.definitions_list(search=search))
    return render(request, "processes/list.html", {"page": page, "search": search})


@role_required(*DESIGNERS)
def process_upload(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return redirect("processes:list")
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, "Choose a .bpmn file to upload.")
        return redirect("processes:list")
    try:
        result = services.version_deploy(
            xml=upload.read(), actor=Actor.for_user(request.user), user=request.user
        )
    except FlowgateError as exc:
        messages.error(request, exc.message)
        return redirect("processes:list")
    version = result.version
    if result.deployed:
        messages.success(request, f"Deployed {version.definition.key} version {version.number}.")
    else:
        messages.warning(
            request,
            f"Saved as draft version {version.number}: {len(version.problems)} problem(s) to fix.",
        )
    return redirect("processes:edit", key=version.definition.key)


@role_required(*DESIGNERS)
def process_edit(request: HttpRequest, key: str | None = None) -> HttpResponse:
    from apps.connectors.selectors import connector_choices

    context: dict = {
        "key": key,
        "versions": [],
        "definition": None,
        "connectors": connector_choices(),  # suggestions for the connector field
    }
    if key:
        try:
            context["definition"] = selectors.definition_get(key=key)
        except FlowgateError:
            raise Http404(f"No process '{key}'.") from None
        context["versions"] = list(selectors.versions_of(key=key)[:20])
        context["xml_url"] = reverse("processes:xml", args=[key])
    return render(request, "processes/edit.html", context)


@role_required(*DESIGNERS)
def process_xml(request: HttpRequest, key: str) -> HttpResponse:
    xml = selectors.latest_xml(key=key)
    if xml is None:
        raise Http404(f"No process '{key}'.")
    return HttpResponse(xml, content_type="application/xml")


@role_required(*DESIGNERS)
def process_test_run(request: HttpRequest, key: str) -> HttpResponse:
    """Start an instance of the latest deployed version with variables typed as JSON."""
    from apps.engine.services import instance_start

    if request.method != "POST":
        return redirect("processes:edit", key=key)
    try:
        raw = request.POST.get("variables", "").strip() or "{}"
        try:
            variables = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InvalidInput(
                f"Variables are not valid JSON: {exc.msg} (line {exc.lineno})."
            ) from None
        instance = instance_start(
            process_key=key,
            variables=variables,
            business_key=request.POST.get("business_key", "")[:200],
            actor=Actor.for_user(request.user),
            started_by=request.user,
        )
    except FlowgateError as exc:
        messages.error(request, exc.message)
        return redirect("processes:edit", key=key)
    messages.success(request, f"Started instance #{instance.pk}.")
    return redirect("inbox:instance", instance_id=instance.pk)
