"""Process versions: list, detail, XML download, compare two, roll back; readable by designers,
admins, auditors and whoever the process was shared with."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.permissions import has_role
from apps.accounts.roles import Role
from apps.common.actors import actor_for_request
from apps.common.api import ApiView
from apps.common.errors import AccessDenied, NotFound
from apps.processes import selectors, services, sharing
from apps.processes.apis.common import VersionOutput, require_designer
from apps.processes.diff import versions_diff
from apps.processes.models import ProcessDefinition, ProcessVersion


def _require_reader(request: Request, definition: ProcessDefinition) -> None:
    """Versions hold the whole BPMN (connector inputs, URLs, secret names): the same readers as the
    designer's pages (designers, admins, and whoever was granted view access to this process),
    plus auditors (evidence). Found by tests/security/test_idor.py."""
    if has_role(request.user, Role.DESIGNER, Role.ADMIN, Role.AUDITOR):
        return
    if not sharing.can_view(request.user, definition):
        raise AccessDenied(
            "Process versions are for designers, auditors, admins and people the process was "
            "shared with."
        )


def _readable_definition(request: Request, key: str) -> ProcessDefinition:
    """The definition ``key`` if the user may read it. Without access the answer is 403 whether
    or not the process exists (its existence is not revealed)."""
    reader = has_role(request.user, Role.DESIGNER, Role.ADMIN, Role.AUDITOR)
    try:
        definition = selectors.definition_get(key=key)
    except NotFound:
        if reader:
            raise
        definition = None
    if definition is None:
        raise AccessDenied("Process versions are for designers, auditors and admins.")
    _require_reader(request, definition)
    return definition


def _readable_version(request: Request, version_id: int) -> ProcessVersion:
    try:
        version = selectors.version_get(version_id=version_id)
    except NotFound:
        if has_role(request.user, Role.DESIGNER, Role.ADMIN, Role.AUDITOR):
            raise
        raise AccessDenied("Process versions are for designers, auditors and admins.") from None
    _require_reader(request, version.definition)
    return version


class ProcessVersionsApi(ApiView):
    paginated = True
    OutputSerializer = VersionOutput

    @extend_schema(summary="Versions of a process, newest first")
    def get(self, request: Request, key: str) -> Response:
        _readable_definition(request, key)
        return self.paginated_response(selectors.versions_of(key=key).select_related("definition"))


class VersionDetailApi(ApiView):
    @extend_schema(responses=VersionOutput, summary="One process version")
    def get(self, request: Request, version_id: int) -> Response:
        version = _readable_version(request, version_id)
        return Response(VersionOutput(version).data)


class VersionXmlApi(ApiView):
    @extend_schema(
        responses={(200, "application/xml"): str}, summary="Download the BPMN XML of a version"
    )
    def get(self, request: Request, version_id: int) -> HttpResponse:
        version = _readable_version(request, version_id)
        response = HttpResponse(version.xml, content_type="application/xml")
        response["Content-Disposition"] = (
            f'attachment; filename="{version.definition.key}-v{version.number}.bpmn"'
        )
        return response


class CompareChangeSerializer(serializers.Serializer):
    property = serializers.CharField()
    before = serializers.CharField(allow_null=True)
    after = serializers.CharField(allow_null=True)


class CompareElementSerializer(serializers.Serializer):
    id = serializers.CharField()
    type = serializers.CharField()
    name = serializers.CharField()
    changes = CompareChangeSerializer(many=True)


# "from" is a Python keyword: the query parameter's field is declared through type().
CompareInput = type(
    "CompareInput",
    (serializers.Serializer,),
    {
        "from": serializers.IntegerField(min_value=1, help_text="Version number (before)"),
        "to": serializers.IntegerField(min_value=1, help_text="Version number (after)"),
    },
)


class ProcessCompareApi(ApiView):
    Input = CompareInput

    @extend_schema(
        parameters=[Input],
        responses=inline_serializer(
            "VersionComparison",
            {
                "from": serializers.IntegerField(),
                "to": serializers.IntegerField(),
                "added": CompareElementSerializer(many=True),
                "removed": CompareElementSerializer(many=True),
                "changed": CompareElementSerializer(many=True),
            },
        ),
        summary="Compare two versions: elements added, removed and changed (with properties)",
    )
    def get(self, request: Request, key: str) -> Response:
        _readable_definition(request, key)
        data = self.Input(data=request.query_params)
        data.is_valid(raise_exception=True)
        before = selectors.version_by_number(key=key, number=data.validated_data["from"])
        after = selectors.version_by_number(key=key, number=data.validated_data["to"])
        diff = versions_diff(before=before.xml, after=after.xml)
        return Response({"from": before.number, "to": after.number, **diff.as_dict()})


class VersionRollbackApi(ApiView):
    class Input(serializers.Serializer):
        comment = serializers.CharField(required=False, allow_blank=True, max_length=500)

    @extend_schema(
        request=Input,
        responses={201: VersionOutput, 200: VersionOutput},
        summary="Roll back: deploy this earlier version again as a new version",
    )
    def post(self, request: Request, version_id: int) -> Response:
        require_designer(request)
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.version_rollback(
            version_id=version_id,
            actor=actor_for_request(request),
            user=request.user,
            comment=data.validated_data.get("comment", ""),
        )
        return Response(
            VersionOutput(result.version).data,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )
