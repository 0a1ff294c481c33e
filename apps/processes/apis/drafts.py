"""Your drafts: the designer's autosaved, unsaved work, one per process; named, renamed and
discarded by their owner only."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from apps.common.api import ApiView
from apps.processes import drafts
from apps.processes.apis.common import require_designer


class DraftSummary(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    created_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField()


class DraftOutput(DraftSummary):
    xml = serializers.CharField()


class DraftListApi(ApiView):
    @extend_schema(responses=DraftSummary(many=True), summary="Your drafts, newest first")
    def get(self, request: Request) -> Response:
        require_designer(request)
        rows = drafts.drafts_of(user=request.user).defer("xml")[:200]
        return Response(DraftSummary(rows, many=True).data)


class ProcessDraftApi(ApiView):
    """The caller's autosaved draft of a process (the designer saves every few seconds)."""

    class Input(serializers.Serializer):
        xml = serializers.CharField(trim_whitespace=False)
        name = serializers.CharField(
            required=False,
            allow_blank=True,
            max_length=drafts.MAX_NAME,
            help_text="A new draft's name (default: the process or file name and the time); "
            "an existing draft keeps its name unless one is given",
        )
        source = serializers.CharField(  # type: ignore[assignment]  # a field named like a Serializer attribute (the metaclass takes it)
            required=False,
            allow_blank=True,
            max_length=drafts.MAX_NAME,
            help_text="The name of the file it was opened from, for the default name",
        )

    class RenameInput(serializers.Serializer):
        name = serializers.CharField(max_length=drafts.MAX_NAME)

    @extend_schema(responses=DraftOutput, summary="Your autosaved draft of a process")
    def get(self, request: Request, key: str) -> Response:
        require_designer(request)
        return Response(DraftOutput(drafts.draft_get(key=key, user=request.user)).data)

    @extend_schema(request=Input, responses=DraftOutput, summary="Autosave your draft of a process")
    def put(self, request: Request, key: str) -> Response:
        require_designer(request)
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        draft = drafts.draft_save(
            key=key,
            xml=data.validated_data["xml"],
            user=request.user,
            name=data.validated_data.get("name", ""),
            source=data.validated_data.get("source", ""),
        )
        return Response(DraftOutput(draft).data)

    @extend_schema(request=RenameInput, responses=DraftSummary, summary="Rename your draft")
    def patch(self, request: Request, key: str) -> Response:
        require_designer(request)
        data = self.RenameInput(data=request.data)
        data.is_valid(raise_exception=True)
        draft = drafts.draft_rename(key=key, user=request.user, name=data.validated_data["name"])
        return Response(DraftSummary(draft).data)

    @extend_schema(
        request=None,
        responses={204: None},
        summary="Discard your draft (204 also when there is none)",
    )
    def delete(self, request: Request, key: str) -> Response:
        require_designer(request)
        drafts.draft_discard(key=key, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
