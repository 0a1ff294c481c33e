"""Report figures over HTTP: every number on the report pages, as JSON (and CSV)."""

from __future__ import annotations

from decimal import Decimal

from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.roles import Role
from apps.calendars.selectors import calendar_named
from apps.common.actors import actor_for_request
from apps.common.api import ApiView, HasRole
from apps.common.api_queries import validated_query
from apps.common.errors import InvalidInput, NotFound
from apps.engine import operator_services
from apps.engine.models import ProcessInstance
from apps.processes.models import ProcessVersion
from apps.reports import api_queries as queries
from apps.reports import api_schemas as schemas
from apps.reports import console
from apps.reports.exports import SLI_COLUMNS, SLO_COLUMNS, TABLES, csv_text, rows_csv
from apps.reports.filters import ReportFilters
from apps.reports.models import ActivitySla
from apps.reports.selectors import activities_named, heatmap, sla_dashboard, slowest_instances
from apps.reports.selectors.costs import process_costs
from apps.reports.selectors.decisions import decision_rule_report
from apps.reports.selectors.timeline import instance_timeline
from apps.reports.services import activity_sla_set, slo_set
from apps.reports.slo import slis, slo_status
from apps.reports.snapshots import is_default_view, snapshot_or_live
from apps.reports.templatetags.reports_tags import duration

REPORT_ROLES = (Role.AUDITOR, Role.ADMIN, Role.MANAGER)


def dashboard_for(params) -> dict:
    """The default view (process_key only) from the background snapshot, unless ``live=1``;
    any other filter computes live."""
    checked = validated_query(queries.ReportQuery, params)
    filters = ReportFilters.parse(queries.as_text(checked))
    if is_default_view(queries.as_text(checked)):
        report, snapshot = snapshot_or_live(
            kind="sla", process_key=filters.process_key, live=checked["live"]
        )
        return {**report, "computed_at": snapshot.computed_at.isoformat() if snapshot else None}
    return sla_dashboard(
        period=filters.period,
        process_key=filters.process_key,
        risk_hours=filters.risk_hours,
        bucket=filters.bucket,
    )


class SlaReportApi(ApiView):
    permission_classes = [IsAuthenticated, HasRole(*REPORT_ROLES)]

    @extend_schema(
        parameters=[queries.ReportQuery],
        responses={200: schemas.SlaDashboardOut},
        summary="SLA dashboard: per process and activity counts, duration/waiting/working "
        "percentiles, SLA met/warned/breached, open tasks at risk, throughput, workload, escalations",
    )
    def get(self, request: Request) -> Response:
        return Response(dashboard_for(request.query_params))


class ProcessCostsApi(ApiView):
    permission_classes = [IsAuthenticated, HasRole(*REPORT_ROLES)]

    @extend_schema(
        parameters=[queries.ProcessPeriodQuery],
        responses={200: schemas.ProcessCostsOut},
        summary="Cost per process: steps, connector calls and worker seconds in the period, in "
        "total and per completed instance",
    )
    def get(self, request: Request) -> Response:
        filters = queries.report_filters(request.query_params, queries.ProcessPeriodQuery)
        return Response(costs_report(filters))


def costs_report(filters: ReportFilters) -> dict:
    period = filters.period
    return {
        "period": {"since": period.since.isoformat(), "until": period.until.isoformat()},
        "processes": process_costs(period=period, process_key=filters.process_key),
    }


class SlaReportCsvApi(ApiView):
    permission_classes = [IsAuthenticated, HasRole(*REPORT_ROLES)]

    @extend_schema(
        parameters=[queries.ReportQuery],
        responses={(200, "text/csv"): str},
        summary="One SLA dashboard table as CSV",
    )
    def get(self, request: Request, table: str) -> HttpResponse:
        if table not in TABLES:
            raise NotFound(
                f"No table {table!r}; choose one of {', '.join(TABLES)}.", code="unknown_table"
            )
        report = dashboard_for(request.query_params)
        if table == "activities":
            activities_named(report["activities"])
        return csv_response(csv_text(report, table), f"sla-{table}.csv")


def csv_response(text: str, filename: str) -> HttpResponse:
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- heatmap -------------------------------------------------------------------------------------


def _version(version_id: int) -> ProcessVersion:
    version = ProcessVersion.objects.filter(pk=version_id).first()
    if version is None:
        raise NotFound(f"Process version {version_id} does not exist.", code="version_not_found")
    return version


class HeatmapApi(ApiView):
    permission_classes = [IsAuthenticated, HasRole(*REPORT_ROLES)]

    @extend_schema(
        parameters=[queries.PeriodQuery],
        responses={200: schemas.HeatmapOut},
        summary="Per activity of a version: p95 duration, mean waiting time, count waiting",
    )
    def get(self, request: Request, version_id: int) -> Response:
        version = _version(version_id)
        filters = queries.report_filters(request.query_params, queries.PeriodQuery)
        return Response(heatmap(version_id=version.pk, period=filters.period))


class HeatmapSlowestApi(ApiView):
    permission_classes = [IsAuthenticated, HasRole(*REPORT_ROLES)]

    @extend_schema(
        parameters=[queries.SlowestQuery],
        responses={200: schemas.SlowestOut},
        summary="The slowest instances at one activity of a version (open ones by age)",
    )
    def get(self, request: Request, version_id: int) -> Response:
        version = _version(version_id)
        activity_id = validated_query(queries.SlowestQuery, request.query_params)["activity_id"]
        rows = slowest_instances(version_id=version.pk, activity_id=activity_id)
        for row in rows:
            row["url"] = reverse("reports:instance", args=[row["instance_id"]])
            row["duration_label"] = duration(row["duration_s"])
        return Response({"version_id": version.pk, "activity_id": activity_id, "instances": rows})


# --- SLOs ----------------------------------------------------------------------------------------


class SloListApi(ApiView):
    permission_classes = [IsAuthenticated, HasRole(*REPORT_ROLES)]

    @extend_schema(
        parameters=[queries.ProcessQuery],
        responses={200: schemas.SloListOut},
        summary="SLOs with SLI, error budget remaining, burn rates (1h/6h/3d) and state",
    )
    def get(self, request: Request) -> Response:
        key = validated_query(queries.ProcessQuery, request.query_params).get("process_key", "")
        return Response({"slos": slo_status(process_key=key)})


class SloSetApi(ApiView):
    permission_classes = [IsAuthenticated, HasRole(Role.ADMIN, Role.MANAGER)]

    class InputSerializer(serializers.Serializer):
        objective_percent = serializers.DecimalField(
            max_digits=6, decimal_places=3, min_value=Decimal(1), max_value=Decimal("99.999")
        )
        target_seconds = serializers.IntegerField(min_value=1, max_value=365 * 86400)
        window_days = serializers.IntegerField(min_value=1, max_value=365, default=30)

    @extend_schema(
        request=InputSerializer, responses={200: schemas.SloListOut}, summary="Set a process's SLO"
    )
    def put(self, request: Request, process_key: str) -> Response:
        data = self.validated_input()
        slo_set(
            process_key=process_key,
            actor=actor_for_request(request),
            user=request.user,
            **data,
        )
        return Response({"slos": slo_status(process_key=process_key)})


class ActivitySlaSetApi(ApiView):
    """A user task's SLA thresholds; either one in seconds or, with business time, as
    "2 business days" / "4 business hours" (decision 041, as user-task SLAs in the model)."""

    permission_classes = [IsAuthenticated, HasRole(Role.ADMIN, Role.MANAGER)]

    class InputSerializer(serializers.Serializer):
        breach = serializers.CharField(
            max_length=40, help_text='Seconds, or with business time "2 business days"'
        )
        warning = serializers.CharField(max_length=40, required=False, allow_blank=True)
        business_time = serializers.BooleanField(default=False)
        calendar = serializers.SlugField(required=False, allow_blank=True)

    @staticmethod
    def _out(sla: ActivitySla) -> dict:
        return {
            "process_key": sla.process_key,
            "activity_id": sla.activity_id,
            "warning_seconds": sla.warning_seconds,
            "breach_seconds": sla.breach_seconds,
            "business_time": sla.business_time,
            "calendar": sla.calendar.slug if sla.calendar is not None else "",
        }

    @extend_schema(
        request=InputSerializer,
        responses={200: schemas.ActivitySlaOut},
        summary="Set a user task's SLA thresholds (seconds or business time)",
    )
    def put(self, request: Request, process_key: str, activity_id: str) -> Response:
        data = self.validated_input()
        calendar = None
        if data.get("calendar"):
            calendar = calendar_named(data["calendar"])
            if calendar is None:
                raise InvalidInput(
                    f"calendar: there is no calendar “{data['calendar']}”.",
                    code="invalid_sla",
                    details=[{"field": "calendar", "message": "no such calendar"}],
                )
        sla = activity_sla_set(
            process_key=process_key,
            activity_id=activity_id,
            breach_seconds=data["breach"],
            warning_seconds=data.get("warning") or None,
            business_time=data["business_time"],
            calendar=calendar,
            actor=actor_for_request(request),
        )
        return Response(self._out(sla))


class SloCsvApi(ApiView):
    permission_classes = [IsAuthenticated, HasRole(*REPORT_ROLES)]

    @extend_schema(
        parameters=[queries.ProcessPeriodQuery],
        responses={(200, "text/csv"): str},
        summary="The SLO table (kind=slo) or the SLI table (kind=sli) as CSV",
    )
    def get(self, request: Request, kind: str) -> HttpResponse:
        filters = queries.report_filters(request.query_params, queries.ProcessPeriodQuery)
        if kind == "slo":
            text = rows_csv(slo_status(process_key=filters.process_key), SLO_COLUMNS)
        elif kind == "sli":
            rows = slis(
                period_since=filters.period.since,
                period_until=filters.period.until,
                process_key=filters.process_key,
            )
            text = rows_csv(rows, SLI_COLUMNS)
        else:
            raise NotFound("Choose slo or sli.", code="unknown_table")
        return csv_response(text, f"{kind}.csv")


class SliApi(ApiView):
    permission_classes = [IsAuthenticated, HasRole(*REPORT_ROLES)]

    @extend_schema(
        parameters=[queries.ProcessPeriodQuery],
        responses={200: schemas.SliListOut},
        summary="SLIs per process",
    )
    def get(self, request: Request) -> Response:
        filters = queries.report_filters(request.query_params, queries.ProcessPeriodQuery)
        return Response(
            {
                "slis": slis(
                    period_since=filters.period.since,
                    period_until=filters.period.until,
                    process_key=filters.process_key,
                )
            }
        )


# --- incidents and operations --------------------------------------------------------------------


class IncidentGroupsApi(ApiView):
    permission_classes = [IsAuthenticated, HasRole(*REPORT_ROLES)]

    @extend_schema(
        parameters=[queries.ProcessQuery],
        responses={200: schemas.IncidentGroupsOut},
        summary="Open incidents grouped by process, activity and error message",
    )
    def get(self, request: Request) -> Response:
        key = validated_query(queries.ProcessQuery, request.query_params).get("process_key", "")
        groups = console.incident_groups(process_key=key, per_group=None)
        for g in groups:
            g["incident_ids"] = [incident.pk for incident in g.pop("incidents")]
        return Response({"groups": groups})


class IncidentsRetryApi(ApiView):
    permission_classes = [IsAuthenticated, HasRole(Role.ADMIN, Role.MANAGER)]

    class InputSerializer(serializers.Serializer):
        incident_ids = serializers.ListField(
            child=serializers.IntegerField(min_value=1), required=False, max_length=1000
        )
        group = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)

        def validate(self, attrs):
            group = attrs.get("group")
            if not attrs.get("incident_ids") and not group:
                raise serializers.ValidationError(
                    "Give incident_ids, or group {process_key, activity_id, message}."
                )
            if group and not {"process_key", "activity_id", "message"} <= set(group):
                raise serializers.ValidationError(
                    "group needs process_key, activity_id and message."
                )
            return attrs

    @extend_schema(
        request=InputSerializer,
        responses={200: schemas.IncidentsRetryOut},
        summary="Retry several incidents (or every open one of a group)",
    )
    def post(self, request: Request) -> Response:
        data = self.validated_input()
        ids = list(data.get("incident_ids") or [])
        if data.get("group"):
            g = data["group"]
            ids += list(
                console.incidents_of_group(
                    process_key=g["process_key"],
                    activity_id=g["activity_id"],
                    message=g["message"],
                    limit=None,
                ).values_list("pk", flat=True)
            )
        return Response(
            operator_services.incidents_retry(incident_ids=ids, actor=actor_for_request(request))
        )


class InstanceSearchApi(ApiView):
    permission_classes = [IsAuthenticated, HasRole(*REPORT_ROLES)]
    paginated = True
    queryset = ProcessInstance.objects.none()  # for the schema only

    class OutputSerializer(serializers.ModelSerializer):
        version_number = serializers.IntegerField(source="version.number")

        class Meta:
            model = ProcessInstance
            fields = [
                "id",
                "process_key",
                "version_id",
                "version_number",
                "business_key",
                "status",
                "variables",
                "created_at",
                "updated_at",
                "ended_at",
            ]

    @extend_schema(
        parameters=[queries.InstanceSearchQuery],
        summary="Search instances (operations console)",
    )
    def get(self, request: Request) -> Response:
        search = queries.instance_search(request.query_params)
        return self.paginated_response(console.instance_search(search=search))


class InstanceVariableSetApi(ApiView):
    permission_classes = [IsAuthenticated, HasRole(Role.ADMIN)]

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100)
        value = serializers.JSONField()

    @extend_schema(
        request=InputSerializer,
        responses={200: schemas.InstanceVariablesOut},
        summary="Admins: set a variable",
    )
    def post(self, request: Request, instance_id: int) -> Response:
        data = self.validated_input()
        instance = operator_services.instance_variable_set(
            instance_id=instance_id,
            name=data["name"],
            value=data["value"],
            actor=actor_for_request(request),
        )
        return Response({"id": instance.pk, "variables": instance.variables})


# --- instance timeline ---------------------------------------------------------------------------


class InstanceTimelineApi(ApiView):
    """The instance page's timeline as JSON: each step's waiting, working, human waits, incidents
    and timers, from the rows Flowgate keeps (no tracing backend needed)."""

    permission_classes = [IsAuthenticated, HasRole(*REPORT_ROLES)]

    OutputSerializer = schemas.InstanceTimelineOut

    @extend_schema(
        responses={200: schemas.InstanceTimelineOut}, summary="One instance's steps on a time axis"
    )
    def get(self, request: Request, instance_id: int) -> Response:
        instance = ProcessInstance.objects.filter(pk=instance_id).first()
        if instance is None:
            raise NotFound(f"Instance {instance_id} does not exist.", code="instance_not_found")
        return self.respond(instance_timeline(instance=instance))


class DecisionRulesReportApi(ApiView):
    permission_classes = [IsAuthenticated, HasRole(*REPORT_ROLES)]

    @extend_schema(
        parameters=[queries.DecisionRulesQuery],
        responses=inline_serializer(
            "DecisionRulesReport",
            {
                "period": serializers.DictField(),
                "decisions": serializers.ListField(child=serializers.DictField()),
            },
        ),
        summary="How often each rule of each decision matched in the period (from the audit "
        "trail); rules that never matched are flagged",
    )
    def get(self, request: Request) -> Response:
        key = validated_query(queries.DecisionRulesQuery, request.query_params)["decision"]
        filters = queries.report_filters(request.query_params, queries.DecisionRulesQuery)
        return Response(decision_rule_report(period=filters.period, key=key))
