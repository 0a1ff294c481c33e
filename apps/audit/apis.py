"""REST API of the audit trail (/api/v1/audit/...): auditors and admins only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.renderers import JSONRenderer

from apps.accounts.roles import Role
from apps.audit.actions import AuditAction
from apps.audit.exporting import csv_rows, json_chunks
from apps.audit.selectors import AuditFilter, events_filter
from apps.audit.services import evidence_export, export_begin, verification_run
from apps.common.actors import actor_for_request
from apps.common.api import ApiView, HasRole

AUDIT_PERMISSIONS: Sequence[type[BasePermission]] = [
    IsAuthenticated,
    HasRole(Role.AUDITOR, Role.ADMIN),
]
BIGINT_MAX = 2**63 - 1


class FilterSerializer(serializers.Serializer):
    actor = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=255,
        help_text="User name (matches the user and their API tokens) or a system component.",
    )
    actor_kind = serializers.ChoiceField(
        required=False, allow_blank=True, choices=["user", "token", "system", "anonymous"]
    )
    action = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=64,
        help_text="An action (`task.completed`) or a group ending in a dot (`task.`).",
    )
    process_key = serializers.CharField(required=False, allow_blank=True, max_length=255)
    instance_id = serializers.IntegerField(required=False, min_value=1, max_value=BIGINT_MAX)
    task_id = serializers.IntegerField(required=False, min_value=1, max_value=BIGINT_MAX)
    job_id = serializers.IntegerField(required=False, min_value=1, max_value=BIGINT_MAX)
    trace_id = serializers.RegexField(
        r"^[0-9a-fA-F]{32}$",
        required=False,
        allow_blank=True,
        help_text="W3C trace id (32 hex): the events written in that trace.",
        error_messages={"invalid": "A trace id is 32 hexadecimal characters."},
    )
    date_from = serializers.DateField(required=False, help_text="First day (inclusive), UTC.")
    date_to = serializers.DateField(required=False, help_text="Last day (inclusive), UTC.")
    q = serializers.CharField(
        required=False, allow_blank=True, max_length=200, help_text="Free text."
    )

    class Meta:
        ref_name = "AuditFilter"

    def validate_action(self, value: str) -> str:
        known = {a.value for a in AuditAction}
        groups = {v.split(".")[0] + "." for v in known}
        if value and value not in known and value not in groups:
            raise serializers.ValidationError(
                f"Unknown action {value!r}. Use one of the actions listed in docs/audit.md, "
                f"or a group: {', '.join(sorted(groups))}."
            )
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("date_from"), attrs.get("date_to")
        if start and end and start > end:
            raise serializers.ValidationError({"date_to": "The end date is before the start date."})
        return attrs


def _filters(data: dict[str, Any]) -> AuditFilter:
    fields: dict[str, Any] = {
        k: (v.strip() if isinstance(v, str) else v) for k, v in data.items() if k != "format"
    }
    return AuditFilter(**fields)


class EventSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    time = serializers.DateTimeField()
    actor_kind = serializers.CharField()
    actor_id = serializers.CharField()
    actor_label = serializers.CharField()
    on_behalf_of = serializers.CharField()
    action = serializers.CharField()
    process_key = serializers.CharField()
    version_id = serializers.IntegerField(allow_null=True)
    instance_id = serializers.IntegerField(allow_null=True)
    task_id = serializers.IntegerField(allow_null=True)
    job_id = serializers.IntegerField(allow_null=True)
    before = serializers.JSONField(allow_null=True)
    after = serializers.JSONField(allow_null=True)
    data = serializers.JSONField()  # type: ignore[assignment]  # a field named like a Serializer attribute (the metaclass takes it)
    request_id = serializers.CharField()
    client_address = serializers.CharField()
    trace_id = serializers.CharField(
        allow_null=True, help_text="W3C trace id of the request or step that wrote the event."
    )
    span_id = serializers.CharField(allow_null=True, help_text="Its span id, where one existed.")
    seq = serializers.IntegerField(
        source="link.seq",
        allow_null=True,
        help_text="Position in the hash chain; null for a moment after the commit.",
    )
    prev_hash = serializers.CharField(source="link.prev_hash", allow_null=True)
    hash = serializers.CharField(source="link.hash", allow_null=True)

    class Meta:
        ref_name = "AuditEvent"


EVENT_EXAMPLE = {
    "position": 1042,
    "time": "2026-11-20T09:14:03.512201Z",
    "actor_kind": "user",
    "actor_id": "7",
    "actor_label": "alice",
    "on_behalf_of": "",
    "action": "task.approved",
    "process_key": "invoice-approval",
    "version_id": 3,
    "instance_id": 118,
    "task_id": 451,
    "job_id": None,
    "before": {"status": "claimed"},
    "after": {"status": "completed", "outcome": "approved"},
    "data": {"comment": "ok"},
    "request_id": "4be0c4e1f2a94a0d9f3c2d1b7c1e2f3a",
    "client_address": "10.1.2.3",
    "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
    "span_id": "00f067aa0ba902b7",
    "seq": 1040,
    "prev_hash": "9f2c…",
    "hash": "b71e…",
}


class EventListApi(ApiView):
    permission_classes = AUDIT_PERMISSIONS
    paginated = True
    OutputSerializer = EventSerializer

    @extend_schema(
        summary="Search audit events (newest first)",
        parameters=[FilterSerializer],
        examples=[OpenApiExample("One page", value=EVENT_EXAMPLE, response_only=True)],
    )
    def get(self, request):
        filters = _filters(self.validated_input(request.query_params, serializer=FilterSerializer))
        return self.paginated_response(events_filter(filters=filters).order_by("-position"))


class VerificationSerializer(serializers.Serializer):
    intact = serializers.BooleanField()
    summary = serializers.CharField()
    events = serializers.IntegerField(help_text="Events checked (up to the break, if broken).")
    head_position = serializers.IntegerField()
    head_hash = serializers.CharField()
    broken_position = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField(allow_blank=True)
    anchor = serializers.DictField(allow_null=True, help_text="Latest anchor: position, hash, time")
    anchor_note = serializers.CharField(allow_blank=True)
    forged = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="Positions of events that Flowgate's audit writer did not write (no valid "
        "writer MAC: inserted into the database directly); empty when there are none.",
    )
    archived = serializers.IntegerField(
        help_text="Events archived by retention and removed under signed checkpoints (their "
        "links are still checked; decision 038)."
    )
    checkpoints = serializers.IntegerField(help_text="Signed checkpoints checked.")
    checked_from = serializers.IntegerField(
        help_text="0: checked from link 1; else the checkpointed link the check started after."
    )
    checked_at = serializers.CharField()

    class Meta:
        ref_name = "AuditVerification"


class VerifyApi(ApiView):
    permission_classes = AUDIT_PERMISSIONS
    OutputSerializer = VerificationSerializer

    @extend_schema(
        summary="Verify the whole audit chain",
        description="Recomputes every hash and link and compares the chain with the latest "
        "anchor. The verification itself is recorded (`audit.verified`). A broken chain is still "
        "a 200 with `intact: false` and the first broken link.",
        request=None,
        examples=[
            OpenApiExample(
                "Intact",
                value={
                    "intact": True,
                    "summary": "intact, 1042 events, head b71e…",
                    "events": 1042,
                    "head_position": 1042,
                    "head_hash": "b71e…",
                    "broken_position": None,
                    "reason": "",
                    "anchor": {"position": 1000, "hash": "31aa…", "time": "2026-11-20T09:10:00Z"},
                    "anchor_note": "contains the anchor of 2026-11-20T09:10:00Z (event 1000)",
                    "forged": [],
                    "archived": 0,
                    "checkpoints": 0,
                    "checked_from": 0,
                    "checked_at": "2026-11-20T09:14:05Z",
                },
                response_only=True,
            ),
            OpenApiExample(
                "Broken",
                value={
                    "intact": False,
                    "summary": "broken at position 17: event(s) 17 missing (the next event is 18)",
                    "events": 16,
                    "head_position": 1042,
                    "head_hash": "b71e…",
                    "broken_position": 17,
                    "reason": "event(s) 17 missing (the next event is 18)",
                    "anchor": None,
                    "anchor_note": "",
                    "forged": [],
                    "archived": 0,
                    "checkpoints": 0,
                    "checked_from": 0,
                    "checked_at": "2026-11-20T09:14:05Z",
                },
                response_only=True,
            ),
        ],
    )
    def post(self, request):
        result = verification_run(actor=actor_for_request(request))
        return self.respond(result.as_dict())


class ExportQuerySerializer(FilterSerializer):
    format = serializers.ChoiceField(choices=["csv", "json"], help_text="Export format.")

    class Meta:
        ref_name = "AuditExportQuery"


class ExportApi(ApiView):
    """Streams the filtered events, oldest first. ``format`` is ours, not DRF's suffix switch."""

    permission_classes = AUDIT_PERMISSIONS

    def perform_content_negotiation(self, request, force=False):
        renderer = JSONRenderer()  # errors are JSON whatever ``format`` says
        return renderer, renderer.media_type

    @extend_schema(
        summary="Export the filtered audit trail as CSV or JSON",
        description="The export is recorded (`audit.exported`, with the filters and the last "
        "position it covers) before the first byte is sent; the file holds the matching events "
        "up to that position. JSON keeps every value exactly as hashed; CSV prefixes text cells "
        "that a spreadsheet would run as a formula with `'`.",
        parameters=[ExportQuerySerializer],
        responses={
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR,
                description="CSV with a header row",
                examples=[
                    OpenApiExample(
                        "CSV",
                        value="position,time,actor_kind,...\n1,2026-11-20T09:14:03.512201Z,user,...",
                    )
                ],
            ),
            (200, "application/json"): OpenApiResponse(
                EventSerializer(many=True),
                description="A JSON array of events",
                examples=[OpenApiExample("JSON", value=EVENT_EXAMPLE)],
            ),
        },
    )
    def get(self, request):
        data = self.validated_input(request.query_params, serializer=ExportQuerySerializer)
        fmt = data["format"]
        filters = _filters(data)
        up_to = export_begin(actor=actor_for_request(request), filters=filters, fmt=fmt, via="api")
        events = (
            events_filter(filters=filters, up_to_position=up_to)
            .order_by("position")
            .iterator(chunk_size=2000)
        )
        if fmt == "csv":
            response = StreamingHttpResponse(
                csv_rows(events), content_type="text/csv; charset=utf-8"
            )
        else:
            response = StreamingHttpResponse(json_chunks(events), content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="flowgate-audit-{up_to}.{fmt}"'
        return response


class EvidenceApi(ApiView):
    permission_classes = AUDIT_PERMISSIONS

    @extend_schema(
        summary="Download the evidence package of one process instance (zip)",
        description="events.json, events.csv, the BPMN XML of the versions involved and "
        "proof.json (per-event canonical text and hashes, whole-chain verification, latest "
        "anchor). Recorded as `audit.exported`.",
        responses={
            (200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, description="zip")
        },
    )
    def get(self, request, instance_id: int):
        package = evidence_export(actor=actor_for_request(request), instance_id=instance_id)
        response = HttpResponse(package.content, content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{package.filename}"'
        return response
