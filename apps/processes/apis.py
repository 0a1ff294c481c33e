"""Process definitions and versions: list, deploy (upload), validate, download XML."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.permissions import has_role
from apps.accounts.roles import Role
from apps.common.actors import actor_for_request
from apps.common.api import ApiView
from apps.common.api_parsers import SafeJSONParser
from apps.common.errors import AccessDenied, InvalidInput, NotFound, Unprocessable
from apps.processes import drafts, selectors, services, sharing
from apps.processes.diff import versions_diff
from apps.processes.models import ProcessDefinition, ProcessVersion
from apps.processes.webhooks import webhook_create, webhook_deactivate

MAX_UPLOAD_BYTES = 5 * 1024 * 1024


class ProblemSerializer(serializers.Serializer):
    element_id = serializers.CharField(allow_null=True)
    code = serializers.CharField()
    message = serializers.CharField()


class VersionOutput(serializers.ModelSerializer):
    key = serializers.CharField(source="definition.key")

    class Meta:
        model = ProcessVersion
        fields = [
            "id",
            "key",
            "number",
            "status",
            "name",
            "checksum",
            "problems",
            "metadata",
            "created_at",
            "created_by",
            "comment",
            "rollback_of",
        ]

    created_by = serializers.CharField(source="created_by.username", default=None)
    rollback_of = serializers.IntegerField(source="rollback_of.number", default=None)


class DefinitionOutput(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    status = serializers.SerializerMethodField()
    latest_number = serializers.IntegerField(allow_null=True)
    version_count = serializers.IntegerField()
    owner = serializers.CharField(source="owner_username", allow_null=True)
    last_deployed_at = serializers.DateTimeField(allow_null=True)

    def get_status(self, obj) -> str:
        return "deployed" if obj.latest_number else "draft"


class DeployInput(serializers.Serializer):
    xml = serializers.CharField(required=False, help_text="BPMN 2.0 XML (or upload `file`)")
    file = serializers.FileField(required=False)
    comment = serializers.CharField(
        required=False, allow_blank=True, max_length=500, help_text="Why (version history)"
    )


def _xml_from(request: Request) -> bytes:
    data = DeployInput(data=request.data)
    data.is_valid(raise_exception=True)
    upload = data.validated_data.get("file")
    if upload is not None:
        if upload.size > MAX_UPLOAD_BYTES:
            raise InvalidInput(
                f"The file is {upload.size:,} bytes; the limit is {MAX_UPLOAD_BYTES:,}.",
                code="xml_too_large",
            )
        return upload.read()
    text = data.validated_data.get("xml")
    if not text:
        raise InvalidInput(
            "Send the BPMN XML as `xml` (JSON) or upload it as `file`.", code="missing_xml"
        )
    return text.encode("utf-8")


def _require_designer(request: Request) -> None:
    if not has_role(request.user, Role.DESIGNER, Role.ADMIN):
        raise AccessDenied("Only designers and admins can deploy processes.")


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


class ProcessListApi(ApiView):
    paginated = True
    OutputSerializer = DefinitionOutput

    @extend_schema(
        summary="List process definitions",
        description="Designers and admins see every process; anyone else only the processes "
        "shared with them (read-only), or none.",
    )
    def get(self, request: Request) -> Response:
        definitions = selectors.definitions_list(
            search=request.query_params.get("search", "")[:200],
            status=request.query_params.get("status", ""),
        )
        return self.paginated_response(sharing.definitions_visible(request.user, definitions))


class ProcessDeployApi(ApiView):
    parser_classes = [SafeJSONParser, MultiPartParser, FormParser]

    @extend_schema(
        request=DeployInput,
        responses={
            201: VersionOutput,
            200: VersionOutput,
            422: inline_serializer(
                "DeployProblems",
                {
                    "error": serializers.CharField(),
                    "message": serializers.CharField(),
                    "details": ProblemSerializer(many=True),
                },
            ),
        },
        summary="Deploy a BPMN file as a new version (kept as a draft with its problems when invalid)",
        examples=[
            OpenApiExample(
                "XML in JSON",
                value={"xml": "<?xml version='1.0'?><bpmn:definitions ...>"},
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        _require_designer(request)
        result = services.version_deploy(
            xml=_xml_from(request),
            actor=actor_for_request(request),
            user=request.user,
            comment=str(request.data.get("comment") or ""),
        )
        if not result.deployed:
            raise Unprocessable(
                f"The process has {len(result.version.problems)} problem(s); it was kept as draft "
                f"version {result.version.number}. Fix them and deploy again.",
                code="invalid_bpmn",
                details=result.version.problems,
            )
        body = VersionOutput(result.version).data
        return Response(
            body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        )


class ProcessValidateApi(ApiView):
    parser_classes = [SafeJSONParser, MultiPartParser, FormParser]

    @extend_schema(
        request=DeployInput,
        responses=inline_serializer(
            "Validation",
            {"valid": serializers.BooleanField(), "problems": ProblemSerializer(many=True)},
        ),
        summary="Validate a BPMN file without deploying it",
    )
    def post(self, request: Request) -> Response:
        problems = services.bpmn_validate(xml=_xml_from(request))
        return Response({"valid": not problems, "problems": problems})


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


class WebhookInput(serializers.Serializer):
    message_name = serializers.CharField(max_length=200)
    name = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class WebhookOutput(serializers.Serializer):
    id = serializers.IntegerField()
    process_key = serializers.CharField(source="definition.key")
    message_name = serializers.CharField()
    name = serializers.CharField()
    active = serializers.BooleanField()
    url = serializers.SerializerMethodField()

    def get_url(self, obj) -> str:
        request = self.context.get("request")
        path = f"/api/v1/hooks/{obj.pk}/"
        return request.build_absolute_uri(path) if request else path


class ProcessWebhooksApi(ApiView):
    paginated = True
    OutputSerializer = WebhookOutput

    @extend_schema(summary="Webhooks of a process")
    def get(self, request: Request, key: str) -> Response:
        _require_designer(request)
        return self.paginated_response(selectors.webhooks_of(key=key))

    @extend_schema(
        request=WebhookInput,
        responses={
            201: inline_serializer(
                "WebhookCreated", {"webhook": WebhookOutput(), "secret": serializers.CharField()}
            )
        },
        summary="Attach a webhook to a message start event; the secret is shown once",
    )
    def post(self, request: Request, key: str) -> Response:
        _require_designer(request)
        data = WebhookInput(data=request.data)
        data.is_valid(raise_exception=True)
        trigger, secret = webhook_create(
            process_key=key,
            message_name=data.validated_data["message_name"],
            name=data.validated_data["name"],
            user=request.user,
        )
        body = {
            "webhook": WebhookOutput(trigger, context={"request": request}).data,
            "secret": secret,
        }
        return Response(body, status=status.HTTP_201_CREATED)


class WebhookDeactivateApi(ApiView):
    @extend_schema(request=None, responses=WebhookOutput, summary="Turn a webhook off")
    def delete(self, request: Request, webhook_id: int) -> Response:
        _require_designer(request)
        trigger = webhook_deactivate(trigger_id=webhook_id, user=request.user)
        return Response(WebhookOutput(trigger, context={"request": request}).data)


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
        _require_designer(request)
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


class MappedSerializer(serializers.Serializer):
    element_id = serializers.CharField(allow_null=True)
    message = serializers.CharField()


class ProcessImportApi(ApiView):
    """Convert a file from Camunda Modeler 7/8 or another tool; nothing is stored."""

    parser_classes = [SafeJSONParser, MultiPartParser, FormParser]

    @extend_schema(
        request=DeployInput,
        responses=inline_serializer(
            "ImportResult",
            {
                "xml": serializers.CharField(),
                "has_diagram": serializers.BooleanField(),
                "mapped": MappedSerializer(many=True),
                "problems": ProblemSerializer(many=True),
            },
        ),
        summary="Import a BPMN file: Camunda 7/8 settings mapped to Flowgate's, and what must "
        "be configured before deploy",
    )
    def post(self, request: Request) -> Response:
        _require_designer(request)
        imported = services.bpmn_convert(xml=_xml_from(request))
        problems = services.bpmn_validate(xml=imported.xml)
        keep = {(p["element_id"], p["code"]) for p in problems}
        problems = [
            p for p in imported.problems if (p["element_id"], p["code"]) not in keep
        ] + problems
        text = imported.xml.decode("utf-8")
        return Response(
            {
                "xml": text,
                "has_diagram": "BPMNPlane" in text,
                "mapped": imported.mapped,
                "problems": problems,
            }
        )


class ProcessDraftApi(ApiView):
    """The caller's autosaved draft of a process (the designer saves every few seconds)."""

    class Input(serializers.Serializer):
        xml = serializers.CharField(trim_whitespace=False)

    class Output(serializers.Serializer):
        key = serializers.CharField()
        xml = serializers.CharField()
        updated_at = serializers.DateTimeField()

    @extend_schema(responses=Output, summary="Your autosaved draft of a process")
    def get(self, request: Request, key: str) -> Response:
        _require_designer(request)
        return Response(self.Output(drafts.draft_get(key=key, user=request.user)).data)

    @extend_schema(request=Input, responses=Output, summary="Autosave your draft of a process")
    def put(self, request: Request, key: str) -> Response:
        _require_designer(request)
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        draft = drafts.draft_save(key=key, xml=data.validated_data["xml"], user=request.user)
        return Response(self.Output(draft).data)

    @extend_schema(request=None, responses={204: None}, summary="Discard your draft")
    def delete(self, request: Request, key: str) -> Response:
        _require_designer(request)
        drafts.draft_discard(key=key, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ViewersOutput(serializers.Serializer):
    users = serializers.ListField(child=serializers.CharField())
    roles = serializers.ListField(child=serializers.CharField())


class ProcessViewersApi(ApiView):
    """Who may view a process read-only (besides designers and admins, who see every process).
    Only designers and admins read or change it."""

    class Input(serializers.Serializer):
        user = serializers.CharField(required=False, allow_blank=True, max_length=150)
        role = serializers.CharField(required=False, allow_blank=True, max_length=150)

    def _definition(self, request: Request, key: str) -> ProcessDefinition:
        if not sharing.can_edit(request.user):
            raise AccessDenied("Only designers and admins share processes.")
        return selectors.definition_get(key=key)

    @extend_schema(responses=ViewersOutput, summary="Users and roles granted view access")
    def get(self, request: Request, key: str) -> Response:
        viewers = sharing.process_viewers(definition=self._definition(request, key))
        return Response(ViewersOutput(viewers).data)

    @extend_schema(
        request=Input,
        responses={201: ViewersOutput},
        summary="Grant a user or a role read-only view access to a process",
    )
    def post(self, request: Request, key: str) -> Response:
        definition = self._definition(request, key)
        data = self.validated_input(serializer=self.Input)
        viewers = sharing.process_view_grant(
            definition=definition,
            actor=actor_for_request(request),
            by=request.user,
            user=data.get("user", ""),
            role=data.get("role", ""),
        )
        return Response(ViewersOutput(viewers).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[Input],
        responses=ViewersOutput,
        summary="Take back a user's or a role's view access (?user= or ?role=)",
    )
    def delete(self, request: Request, key: str) -> Response:
        definition = self._definition(request, key)
        data = self.validated_input(request.query_params, serializer=self.Input)
        viewers = sharing.process_view_revoke(
            definition=definition,
            actor=actor_for_request(request),
            by=request.user,
            user=data.get("user", ""),
            role=data.get("role", ""),
        )
        return Response(ViewersOutput(viewers).data)
