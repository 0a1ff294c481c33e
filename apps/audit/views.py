"""Audit report pages (/admin-reports/audit/): auditors and admins only."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods

from apps.accounts.roles import Role
from apps.audit.exporting import csv_rows, json_chunks
from apps.audit.forms import AuditFilterForm
from apps.audit.labels import version_labels
from apps.audit.models import AuditEvent
from apps.audit.selectors import (
    events_filter,
    events_recent_first,
    instance_timeline,
    verification_last,
)
from apps.audit.services import evidence_export, export_begin, verification_run
from apps.common.actors import Actor
from apps.common.errors import NotFound
from apps.common.pages import paginate, role_required
from apps.common.tracing import trace_url

AUDIT_ROLES = (Role.AUDITOR, Role.ADMIN)
PAGE_SIZE = 50
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


auditor_required = role_required(
    *AUDIT_ROLES, message="The audit trail is open to the auditor and admin roles only."
)


def _with_details(events: Any) -> list[AuditEvent]:
    rows = list(events)
    versions = version_labels(event.version_id for event in rows)
    for event in rows:
        details = {k: getattr(event, k) for k in ("before", "after", "data") if getattr(event, k)}
        event.details_json = json.dumps(details, indent=2, sort_keys=True) if details else ""
        event.version_label = versions.get(event.version_id, "")
        event.trace_url = trace_url(event.trace_id or "")
    return rows


@require_GET
@auditor_required
def index(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return render(request, "audit/index.html", {"form": form, "page_obj": None}, status=400)
    filters = form.to_filter() if form.is_bound else None
    page_obj = paginate(request, events_recent_first(filters=filters), PAGE_SIZE)
    query = urlencode(filters.as_params()) if filters else ""
    return render(
        request,
        "audit/index.html",
        {
            "form": form,
            "page_obj": page_obj,
            "events": _with_details(page_obj.object_list),
            "query": query,
            "filtered": bool(query),
        },
    )


@require_GET
@auditor_required
def instance(request: HttpRequest, instance_id: int) -> HttpResponse:
    events = _with_details(instance_timeline(instance_id=instance_id))
    return render(request, "audit/timeline.html", {"instance_id": instance_id, "events": events})


@require_http_methods(["GET", "POST"])
@auditor_required
def verify(request: HttpRequest) -> HttpResponse:
    result = None
    if request.method == "POST":
        result = verification_run(actor=Actor.for_user(request.user))
    return render(request, "audit/verify.html", {"result": result, "last": verification_last()})


@require_GET
@auditor_required
def export(request: HttpRequest, fmt: str) -> HttpResponse | StreamingHttpResponse:
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        return render(request, "audit/index.html", {"form": form, "page_obj": None}, status=400)
    filters = form.to_filter()
    up_to = export_begin(actor=Actor.for_user(request.user), filters=filters, fmt=fmt)
    events = (
        events_filter(filters=filters, up_to_position=up_to)
        .order_by("position")
        .iterator(chunk_size=2000)
    )
    chunks = csv_rows(events) if fmt == "csv" else json_chunks(events)
    response = StreamingHttpResponse(chunks, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="flowgate-audit-{up_to}.{fmt}"'
    return response


@require_GET
@auditor_required
def evidence(request: HttpRequest, instance_id: int) -> HttpResponse:
    try:
        package = evidence_export(actor=Actor.for_user(request.user), instance_id=instance_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    response = HttpResponse(package.content, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{package.filename}"'
    return response
