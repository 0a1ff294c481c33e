"""Test-only URLconf: the portal plus small views that exercise the shared API toolkit."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.urls import path
from rest_framework import exceptions, serializers
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from apps.accounts.models import User
from apps.accounts.roles import Role
from apps.common import errors
from apps.common.api import ApiView, HasRole
from portal.urls import handler400, handler403, handler404, handler500  # noqa: F401
from portal.urls import urlpatterns as portal_urlpatterns

RAISERS = {
    "not_authenticated": lambda: exceptions.NotAuthenticated(),
    "authentication_failed": lambda: exceptions.AuthenticationFailed(),
    "drf_permission_denied": lambda: exceptions.PermissionDenied(),
    "drf_not_found": lambda: exceptions.NotFound(),
    "http404": lambda: Http404("gone"),
    "django_permission_denied": lambda: DjangoPermissionDenied(),
    "throttled": lambda: exceptions.Throttled(wait=12.2),
    "parse_error": lambda: exceptions.ParseError(),
    "unsupported_media_type": lambda: exceptions.UnsupportedMediaType("text/plain"),
    "not_acceptable": lambda: exceptions.NotAcceptable(),
    "method_not_allowed": lambda: exceptions.MethodNotAllowed("PUT"),
    "invalid_input": lambda: errors.InvalidInput("The amount must be positive."),
    "access_denied": lambda: errors.AccessDenied("Only the requester may withdraw this."),
    "flowgate_not_found": lambda: errors.NotFound("No instance 7."),
    "conflict": lambda: errors.Conflict("Task 3 is already completed.", code="task_completed"),
    "unprocessable": lambda: errors.Unprocessable(
        "The BPMN file has problems.", details=[{"element": "Task_1", "problem": "no outgoing"}]
    ),
    "django_validation_error": lambda: DjangoValidationError({"due": ["Must be a date."]}),
    "runtime_error": lambda: RuntimeError("a bug"),
}


class RaiseApi(ApiView):
    permission_classes = [AllowAny]

    def get(self, request, kind: str):
        raise RAISERS[kind]()


class EchoApi(ApiView):
    """Validates a small body; PUT is not allowed so 405 can be tested."""

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=10)
        count = serializers.IntegerField(min_value=0)
        tags = serializers.ListField(child=serializers.CharField(max_length=3), required=False)

        def validate(self, attrs):
            if attrs.get("name") == "nobody":
                raise serializers.ValidationError("nobody is not allowed")
            return attrs

    def post(self, request):
        return Response(self.validated_input(), status=201)


CALLS: list[dict] = []


class IdempotentApi(ApiView):
    """Counts how often its handler really ran (CALLS) and can fail on demand."""

    idempotent_methods = ("post",)
    response_status = {"POST": 201}

    class InputSerializer(serializers.Serializer):
        amount = serializers.IntegerField()
        fail = serializers.ChoiceField(choices=["", "raise", "respond"], required=False)

    class OutputSerializer(serializers.Serializer):
        call = serializers.IntegerField()
        amount = serializers.IntegerField()

    def post(self, request):
        data = self.validated_input()

        def handler():
            if data.get("fail") == "raise":
                raise errors.Conflict("Handler refused.")
            if data.get("fail") == "respond":
                return Response({"refused": True}, status=409)
            CALLS.append(dict(data))
            if HOOK:
                HOOK[0]()
            return Response({"call": len(CALLS), "amount": data["amount"]}, status=201)

        return self.idempotent("test.idempotent", handler)


HOOK: list = []  # optional callable run inside the handler (concurrency test)


class DesignerOnlyApi(ApiView):
    permission_classes = [IsAuthenticated, HasRole(Role.DESIGNER, Role.ADMIN)]

    def get(self, request):
        return Response({"ok": True})


class UserListApi(ApiView):
    paginated = True
    queryset = User.objects.none()
    filterset_fields = ("is_active", "id")
    search_fields = ("username",)
    ordering_fields = ("username", "id")
    ordering = ("id",)

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        username = serializers.CharField()

    def get(self, request):
        return self.paginated_response(User.objects.all())


urlpatterns = [
    path("api/test/raise/<str:kind>/", RaiseApi.as_view()),
    path("api/test/echo/", EchoApi.as_view()),
    path("api/test/idempotent/", IdempotentApi.as_view()),
    path("api/test/designers/", DesignerOnlyApi.as_view()),
    path("api/test/users/", UserListApi.as_view()),
    *portal_urlpatterns,
]
