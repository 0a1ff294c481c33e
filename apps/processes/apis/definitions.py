"""Process definitions: list, deploy (upload), validate, import from Camunda, autosaved drafts."""

from __future__ import annotations

from drf_spectacular.utils import (
    OpenApiExample,
    PolymorphicProxySerializer,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from apps.common.actors import actor_for_request
from apps.common.api import ApiView
from apps.common.api_parsers import SafeJSONParser
from apps.common.errors import InvalidInput, Unprocessable
from apps.processes import decisions, selectors, services, sharing
from apps.processes.apis.common import VersionOutput, require_designer
from apps.processes.apis.decisions import DmnDeployOutput, deploy_output
from apps.processes.problems import problems_for_people

MAX_UPLOAD_BYTES = 5 * 1024 * 1024


class ProblemSerializer(serializers.Serializer):
    element_id = serializers.CharField(allow_null=True)
    element_name = serializers.CharField(allow_null=True, required=False)
    element_type = serializers.CharField(allow_null=True, required=False)
    related_id = serializers.CharField(required=False, help_text="The path a problem is about")
    code = serializers.CharField()
    message = serializers.CharField()


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
            201: PolymorphicProxySerializer(
                "Deployed",
                serializers=[VersionOutput, DmnDeployOutput],
                resource_type_field_name=None,
            ),
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
        summary="Deploy a BPMN file as a new version (kept as a draft with its problems when invalid), "
        "or a DMN file (recognised by content): a new version of each decision in it",
        examples=[
            OpenApiExample(
                "XML in JSON",
                value={"xml": "<?xml version='1.0'?><bpmn:definitions ...>"},
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        require_designer(request)
        xml = _xml_from(request)
        comment = str(request.data.get("comment") or "") if isinstance(request.data, dict) else ""
        if decisions.is_dmn_file(xml):
            deployed = decisions.dmn_deploy(
                xml=xml,
                actor=actor_for_request(request),
                user=request.user,
                comment=comment,
            )
            return Response(
                deploy_output(deployed),
                status=status.HTTP_201_CREATED if deployed.created else status.HTTP_200_OK,
            )
        result = services.version_deploy(
            xml=xml,
            actor=actor_for_request(request),
            user=request.user,
            comment=comment,
        )
        if not result.deployed:
            raise Unprocessable(
                f"The process has {len(result.version.problems)} problem(s) and was not "
                "deployed (no version number is used); it is kept as your draft. Fix them and "
                "deploy again.",
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
            {
                "valid": serializers.BooleanField(),
                "problems": ProblemSerializer(many=True),
                "warnings": serializers.ListField(
                    child=serializers.DictField(),
                    help_text="DMN only: what deploys but deserves a look (overlapping UNIQUE "
                    "rules, input ranges no rule covers)",
                ),
            },
        ),
        summary="Validate a BPMN or DMN file without deploying it",
    )
    def post(self, request: Request) -> Response:
        xml = _xml_from(request)
        warnings: list[dict] = []
        if decisions.is_dmn_file(xml):
            problems, warnings = decisions.dmn_check(xml=xml)
        else:
            problems = services.bpmn_validate(xml=xml)
        return Response({"valid": not problems, "problems": problems, "warnings": warnings})


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
                "not_imported": ProblemSerializer(many=True),
            },
        ),
        summary="Import a BPMN file: Camunda 7/8 settings mapped to Flowgate's, and what must "
        "be configured before deploy",
    )
    def post(self, request: Request) -> Response:
        require_designer(request)
        imported = services.bpmn_convert(xml=_xml_from(request))
        # The problems are exactly what Validate (and Deploy) will say of the imported diagram:
        # the same check on the same XML. A foreign setting the import could not carry over is
        # not in that diagram any more: it is listed apart, as a setting to make again.
        problems = services.bpmn_validate(xml=imported.xml)
        found = {(p["element_id"], p["code"]) for p in problems}
        not_imported = problems_for_people(
            [p for p in imported.problems if (p["element_id"], p["code"]) not in found],
            imported.xml,
        )
        text = imported.xml.decode("utf-8")
        return Response(
            {
                "xml": text,
                "has_diagram": "BPMNPlane" in text,
                "mapped": imported.mapped,
                "problems": problems,
                "not_imported": not_imported,
            }
        )
