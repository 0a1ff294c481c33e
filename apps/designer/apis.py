"""Test runs over the API (the designer's test panel uses the same endpoints)."""

from __future__ import annotations

from collections.abc import Sequence

from rest_framework import serializers
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.roles import Role
from apps.common.actors import actor_for_request
from apps.common.api import ApiView, HasRole
from apps.designer import testrun

DESIGNERS: Sequence[type[BasePermission]] = [IsAuthenticated, HasRole(Role.DESIGNER, Role.ADMIN)]


class StepOutput(serializers.Serializer):
    activity_id = serializers.CharField()
    name = serializers.CharField()
    type = serializers.CharField()
    status = serializers.ChoiceField(choices=["completed", "waiting", "error"])
    variables = serializers.DictField()
    approval = serializers.BooleanField()
    outcome_variable = serializers.CharField()
    form = serializers.DictField(
        allow_null=True, help_text="A waiting user task's form (form-js schema), else null"
    )


class TraceOutput(serializers.Serializer):
    instance_id = serializers.IntegerField()
    key = serializers.CharField()
    version = serializers.IntegerField()
    status = serializers.CharField()
    steps = StepOutput(many=True)
    completed = serializers.ListField(child=serializers.CharField())
    waiting = serializers.ListField(child=serializers.CharField())
    errors = serializers.ListField(child=serializers.CharField())  # type: ignore[assignment]  # a field named like a Serializer attribute (the metaclass takes it)
    flows = serializers.ListField(child=serializers.CharField())
    variables = serializers.DictField()


def _trace(instance) -> dict:
    version = instance.version
    body = testrun.trace_of(instance, version.xml).as_dict()
    return {**body, "key": version.definition.key, "version": version.number}


class TestRunStartApi(ApiView):
    permission_classes = DESIGNERS
    response_status = {"POST": 201}

    class InputSerializer(serializers.Serializer):
        variables = serializers.DictField(required=False, default=dict)
        stubs = serializers.DictField(
            required=False,
            allow_null=True,
            default=None,
            help_text="Task id -> fixed result; null runs service tasks for real",
        )
        real = serializers.ListField(
            child=serializers.CharField(max_length=200),
            required=False,
            default=list,
            max_length=500,
            help_text="With stubs: the service tasks that still run for real",
        )
        version = serializers.IntegerField(
            required=False,
            allow_null=True,
            default=None,
            min_value=1,
            help_text="The deployed version to run (default: the latest deployed)",
        )

    OutputSerializer = TraceOutput

    def post(self, request: Request, key: str) -> Response:
        data = self.validated_input()
        version = testrun.testrun_version(key=key, number=data["version"])
        instance = testrun.testrun_start(
            version=version,
            variables=data["variables"],
            stubs=data["stubs"],
            real=data["real"],
            actor=actor_for_request(request),
            user=request.user,
        )
        return Response(_trace(instance), status=201)


class TestRunDetailApi(ApiView):
    permission_classes = DESIGNERS
    OutputSerializer = TraceOutput

    def get(self, request: Request, instance_id: int) -> Response:
        return Response(_trace(testrun.testrun_get(instance_id=instance_id, user=request.user)))


class TestRunTaskCompleteApi(ApiView):
    permission_classes = DESIGNERS

    class InputSerializer(serializers.Serializer):
        data = serializers.DictField(required=False, default=dict)  # type: ignore[assignment]  # a field named like a Serializer attribute (the metaclass takes it)
        approved = serializers.BooleanField(required=False, allow_null=True, default=None)
        stubs = serializers.DictField(required=False, allow_null=True, default=None)

    OutputSerializer = TraceOutput

    def post(self, request: Request, instance_id: int, activity_id: str) -> Response:
        testrun.testrun_get(instance_id=instance_id, user=request.user)
        data = self.validated_input()
        instance = testrun.testrun_complete_task(
            instance_id=instance_id,
            activity_id=activity_id,
            data=data["data"],
            approved=data["approved"],
            stubs=data["stubs"],
            actor=actor_for_request(request),
        )
        return Response(_trace(instance))
