"""Moving instances to another version over HTTP (issue #21). Thin: parse, check the role, call
one service. Operators only (admins and managers), as for moving a token."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from apps.common.actors import actor_for_request
from apps.common.api import ApiView, HasRole
from apps.common.api_queries import validated_query
from apps.engine import operator_services, selectors
from apps.engine.operator_services import OPERATOR_ROLES


class ActiveElementOutput(serializers.Serializer):
    activity_id = serializers.CharField()
    type = serializers.CharField()
    target = serializers.CharField(allow_null=True)
    target_type = serializers.CharField(allow_null=True)
    scope = serializers.CharField(help_text="The subprocess or call activity ('' = main process)")


class ProblemOutput(serializers.Serializer):
    activity_id = serializers.CharField()
    code = serializers.CharField(
        help_text="unmapped, unknown_target, type_changed, scope_changed, instance_not_active, "
        "step_running, other_version, same_version, not_found"
    )
    message = serializers.CharField()


class InstanceReportOutput(serializers.Serializer):
    instance_id = serializers.IntegerField()
    status = serializers.CharField(allow_null=True)
    can_move = serializers.BooleanField()
    moved = serializers.BooleanField()
    active = ActiveElementOutput(many=True)
    problems = ProblemOutput(many=True)


class MappingField(serializers.DictField):
    child = serializers.CharField(max_length=200)


class InstanceMigrateApi(ApiView):
    permission_classes = [IsAuthenticated, HasRole(*OPERATOR_ROLES)]

    class InputSerializer(serializers.Serializer):
        to_version = serializers.IntegerField(min_value=1)
        mapping = MappingField(required=False, default=dict)
        dry_run = serializers.BooleanField(required=False, default=False)

    @extend_schema(
        request=InputSerializer,
        responses={200: InstanceReportOutput},
        summary="Move an instance to another version of its process (or dry-run it)",
    )
    def post(self, request: Request, instance_id: int) -> Response:
        data = self.validated_input()
        report = operator_services.instance_migrate(
            instance_id=instance_id,
            to_version=data["to_version"],
            mapping=data["mapping"],
            dry_run=data["dry_run"],
            actor=actor_for_request(request),
        )
        return Response(InstanceReportOutput(report).data)


class MigrationRunOutput(serializers.Serializer):
    id = serializers.IntegerField()
    process_key = serializers.CharField()
    from_version = serializers.IntegerField()
    to_version = serializers.IntegerField()
    mapping = MappingField()
    status = serializers.CharField(help_text="queued, running, finished")
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    moved = serializers.IntegerField()
    refused = serializers.IntegerField()
    report = InstanceReportOutput(many=True)
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class ProcessMigrationApi(ApiView):
    permission_classes = [IsAuthenticated, HasRole(*OPERATOR_ROLES)]

    class InputSerializer(serializers.Serializer):
        from_version = serializers.IntegerField(min_value=1)
        to_version = serializers.IntegerField(min_value=1)
        instance_ids = serializers.ListField(
            child=serializers.IntegerField(min_value=1), required=False, max_length=10_000
        )
        mapping = MappingField(required=False, default=dict)
        dry_run = serializers.BooleanField(required=False, default=False)

    @extend_schema(
        request=InputSerializer,
        responses={
            202: MigrationRunOutput,
            200: inline_serializer(
                "MigrationReport",
                {
                    "process_key": serializers.CharField(),
                    "from_version": serializers.IntegerField(),
                    "to_version": serializers.IntegerField(),
                    "dry_run": serializers.BooleanField(),
                    "mapping": MappingField(),
                    "movable": serializers.IntegerField(),
                    "moved": serializers.IntegerField(),
                    "refused": serializers.IntegerField(),
                    "instances": InstanceReportOutput(many=True),
                },
            ),
        },
        summary="Move the running instances of one version to another: a dry run answers at "
        "once (200); a real run is queued for a worker (202, follow it at /migrations/{id}/)",
    )
    def post(self, request: Request, key: str) -> Response:
        data = self.validated_input()
        if not data["dry_run"]:
            run = operator_services.migration_run_start(
                process_key=key,
                from_version=data["from_version"],
                to_version=data["to_version"],
                instance_ids=data.get("instance_ids"),
                mapping=data["mapping"],
                user=request.user,
            )
            return Response(MigrationRunOutput(run).data, status=202)
        report = operator_services.instances_migrate(
            process_key=key,
            from_version=data["from_version"],
            to_version=data["to_version"],
            instance_ids=data.get("instance_ids"),
            mapping=data["mapping"],
            dry_run=data["dry_run"],
            actor=actor_for_request(request),
        )
        return Response(report)


class MigrationRunSummaryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    process_key = serializers.CharField()
    from_version = serializers.IntegerField()
    to_version = serializers.IntegerField()
    status = serializers.CharField(help_text="queued, running, finished")
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    moved = serializers.IntegerField()
    refused = serializers.IntegerField()
    created_by = serializers.CharField(source="created_by.username", allow_null=True, default=None)
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class MigrationRunListQuery(serializers.Serializer):
    process_key = serializers.CharField(required=False, default="", max_length=200)


class MigrationRunListApi(ApiView):
    permission_classes = [IsAuthenticated, HasRole(*OPERATOR_ROLES)]
    paginated = True
    OutputSerializer = MigrationRunSummaryOutput

    @extend_schema(parameters=[MigrationRunListQuery], summary="Batch migrations, newest first")
    def get(self, request: Request) -> Response:
        query = validated_query(MigrationRunListQuery, request.query_params)
        return self.paginated_response(selectors.migration_runs(process_key=query["process_key"]))


class MigrationRunApi(ApiView):
    permission_classes = [IsAuthenticated, HasRole(*OPERATOR_ROLES)]

    @extend_schema(responses={200: MigrationRunOutput}, summary="A batch migration's progress")
    def get(self, request: Request, run_id: int) -> Response:
        return Response(MigrationRunOutput(operator_services.migration_run_get(run_id=run_id)).data)
