"""REST API for the caller's own account: who am I, and my API tokens."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from apps.accounts.selectors import api_tokens_of
from apps.accounts.services import API_TOKEN_NAME_MAX, api_token_create, api_token_revoke
from apps.common.api import ApiView
from apps.common.errors import AccessDenied, NotFound


class MeApi(ApiView):
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        username = serializers.CharField()
        full_name = serializers.CharField(allow_blank=True)
        email = serializers.CharField(allow_blank=True)
        roles = serializers.ListField(child=serializers.CharField())
        authenticated_by = serializers.ChoiceField(
            choices=["token", "session"], help_text="How this request was authenticated."
        )

    @extend_schema(summary="The caller's account and roles")
    def get(self, request):
        user = request.user
        return self.respond(
            {
                "id": user.pk,
                "username": user.get_username(),
                "full_name": user.get_full_name(),
                "email": user.email,
                "roles": sorted(user.role_names()),
                "authenticated_by": "token" if request.auth is not None else "session",
            }
        )


class TokenListCreateApi(ApiView):
    paginated = True
    response_status = {"POST": 201}
    ordering_fields = ("created_at", "name", "last_used_at", "expires_at")
    ordering = ("-created_at", "-id")
    search_fields = ("name",)

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=API_TOKEN_NAME_MAX)
        expires_at = serializers.DateTimeField(
            required=False, allow_null=True, help_text="Optional; must be in the future."
        )

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        name = serializers.CharField()
        prefix = serializers.CharField(help_text="Identifies the key: `fg_<prefix>_…`.")
        status = serializers.ChoiceField(choices=["active", "revoked", "expired"])
        created_at = serializers.DateTimeField()
        last_used_at = serializers.DateTimeField(allow_null=True)
        expires_at = serializers.DateTimeField(allow_null=True)
        revoked_at = serializers.DateTimeField(allow_null=True)

    class CreatedSerializer(OutputSerializer):
        key = serializers.CharField(help_text="The API key. Shown only in this response.")

    @extend_schema(summary="List your API tokens (never their keys)")
    def get(self, request):
        return self.paginated_response(api_tokens_of(user=request.user))

    @extend_schema(
        summary="Create an API token (browser session only)",
        description="Returns the key once. A request authenticated with a token cannot create "
        "tokens, so a leaked key cannot mint its own successors; use the profile page, a signed-in "
        "session or `manage.py create_api_token`. Not idempotent: the key is never stored, so it "
        "could not be replayed.",
        responses={201: CreatedSerializer},
        examples=[
            OpenApiExample(
                "Create", value={"name": "nightly import", "expires_at": None}, request_only=True
            )
        ],
    )
    def post(self, request):
        if request.auth is not None:
            raise AccessDenied(
                "API tokens cannot create API tokens. Sign in and use your profile page, or run "
                "`manage.py create_api_token`.",
                code="session_required",
            )
        data = self.validated_input()
        token, raw_key = api_token_create(
            user=request.user, name=data["name"], expires_at=data.get("expires_at")
        )
        return Response(
            {**self.output(token), "key": raw_key},
            status=201,
        )


class TokenRevokeApi(ApiView):
    @extend_schema(
        summary="Revoke one of your API tokens",
        description="Takes effect immediately. Revoking an already revoked token is a 409.",
    )
    def delete(self, request, token_id: int):
        token = api_tokens_of(user=request.user).filter(pk=token_id).first()
        if token is None:
            raise NotFound(f"You have no API token with id {token_id}.")
        api_token_revoke(token=token, actor=request.user, via_token=request.auth)
        return Response(status=204)
