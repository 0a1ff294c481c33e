"""Decisions (DMN): list, versions, evaluate. Deploying goes through the process deploy endpoint
(a DMN file is recognised by its content)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.permissions import has_role
from apps.accounts.roles import Role
from apps.common.actors import actor_for_request
from apps.common.api import ApiView
from apps.common.api_parsers import SafeJSONParser
from apps.common.errors import AccessDenied
from apps.processes import decision_selectors, decisions


def require_reader(request: Request) -> None:
    """Decision tables hold business rules: designers, admins and auditors read them."""
    if not has_role(request.user, Role.DESIGNER, Role.ADMIN, Role.AUDITOR):
        raise AccessDenied("Decisions are for designers, auditors and admins.")


def require_evaluator(request: Request) -> None:
    if not has_role(request.user, Role.DESIGNER, Role.ADMIN):
        raise AccessDenied("Only designers and admins can evaluate decisions.")


class DecisionOutput(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()
    hit_policy = serializers.CharField()
    latest_number = serializers.IntegerField()
    version_count = serializers.IntegerField()
    deployed_at = serializers.DateTimeField()


class DecisionVersionOutput(serializers.Serializer):
    key = serializers.CharField()
    number = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField()
    hit_policy = serializers.CharField()
    deployment_id = serializers.IntegerField()
    definitions_key = serializers.CharField(source="deployment.definitions_key")
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField(source="deployment.created_by.username", default=None)
    comment = serializers.CharField(source="deployment.comment")


class DmnWarningOutput(serializers.Serializer):
    element_id = serializers.CharField(allow_null=True)
    code = serializers.CharField()
    message = serializers.CharField()


class DmnDeployOutput(serializers.Serializer):
    kind = serializers.CharField(default="dmn")
    deployment_id = serializers.IntegerField()
    definitions_key = serializers.CharField()
    decisions = DecisionVersionOutput(many=True)
    warnings = DmnWarningOutput(many=True)


def deploy_output(result: decisions.DmnDeployResult) -> dict:
    return {
        "kind": "dmn",
        "deployment_id": result.deployment.pk,
        "definitions_key": result.deployment.definitions_key,
        "decisions": DecisionVersionOutput(result.versions, many=True).data,
        "warnings": result.warnings,
    }


class DecisionListApi(ApiView):
    @extend_schema(responses=DecisionOutput(many=True), summary="Deployed decisions (DMN)")
    def get(self, request: Request) -> Response:
        require_reader(request)
        return Response(DecisionOutput(decision_selectors.decisions_list(), many=True).data)


class DecisionVersionsApi(ApiView):
    @extend_schema(
        responses=DecisionVersionOutput(many=True), summary="Versions of a decision, newest first"
    )
    def get(self, request: Request, key: str) -> Response:
        require_reader(request)
        versions = decision_selectors.versions_of(key=key)
        return Response(DecisionVersionOutput(versions, many=True).data)


class DecisionEvaluateApi(ApiView):
    parser_classes = [SafeJSONParser]

    class Input(serializers.Serializer):
        variables = serializers.DictField(required=False, default=dict)
        version = serializers.IntegerField(required=False, min_value=1, allow_null=True)
        dry_run = serializers.BooleanField(
            required=False,
            default=False,
            help_text="A try (the editor's *Try it*): evaluate, record nothing (no audit event, "
            "not in the rule-match counts)",
        )

    @extend_schema(
        request=Input,
        responses=inline_serializer(
            "DecisionEvaluation",
            {
                "result": serializers.JSONField(allow_null=True),
                "matched_rules": serializers.ListField(child=serializers.DictField()),
                "decision": serializers.DictField(),
                "explanation": serializers.DictField(),
            },
        ),
        summary="Evaluate a decision (latest version unless `version` is given); a bad input is "
        "a 422 naming it",
    )
    def post(self, request: Request, key: str) -> Response:
        require_evaluator(request)
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        variables = data.validated_data.get("variables") or {}
        number = data.validated_data.get("version")
        if data.validated_data["dry_run"]:
            evaluation = decisions.decision_try(key=key, variables=variables, number=number)
        else:
            evaluation = decisions.decision_evaluate(
                key=key, variables=variables, number=number, actor=actor_for_request(request)
            )
        return Response(evaluation.as_dict())


class DecisionRuleStatsApi(ApiView):
    class Input(serializers.Serializer):
        version = serializers.IntegerField(required=False, min_value=1)
        days = serializers.IntegerField(required=False, min_value=1, max_value=366, default=30)

    @extend_schema(
        parameters=[Input],
        responses=inline_serializer(
            "DecisionRuleStats",
            {
                "decision": serializers.DictField(),
                "days": serializers.IntegerField(),
                "evaluations": serializers.IntegerField(),
                "rules": serializers.ListField(child=serializers.DictField()),
            },
        ),
        summary="How often each rule of a decision version matched (from the audit trail); "
        "rules that never matched have 0",
    )
    def get(self, request: Request, key: str) -> Response:
        require_reader(request)
        data = self.Input(data=request.query_params)
        data.is_valid(raise_exception=True)
        version = decision_selectors.version_get(key=key, number=data.validated_data.get("version"))
        usage = decision_selectors.rule_match_counts(
            version=version, days=data.validated_data["days"]
        )
        return Response(
            {
                "decision": {"id": version.key, "version": version.number},
                "days": usage["days"],
                "evaluations": usage["evaluations"],
                "rules": [{"id": rule_id, "matched": n} for rule_id, n in usage["rules"].items()],
            }
        )
