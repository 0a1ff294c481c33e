from django.urls import path

from apps.reports import apis

urlpatterns = [
    path("reports/sla/", apis.SlaReportApi.as_view(), name="api-report-sla"),
    path("reports/decisions/", apis.DecisionRulesReportApi.as_view(), name="api-report-decisions"),
    path("reports/costs/", apis.ProcessCostsApi.as_view(), name="api-report-costs"),
    path("reports/sla/<slug:table>.csv", apis.SlaReportCsvApi.as_view(), name="api-report-sla-csv"),
    path("reports/slo/", apis.SloListApi.as_view(), name="api-report-slo"),
    path(
        "reports/activity-slas/<str:process_key>/<str:activity_id>/",
        apis.ActivitySlaSetApi.as_view(),
        name="api-report-activity-sla",
    ),
    path("reports/slo/<str:process_key>/", apis.SloSetApi.as_view(), name="api-report-slo-set"),
    path("reports/sli/", apis.SliApi.as_view(), name="api-report-sli"),
    path("reports/<slug:kind>.csv", apis.SloCsvApi.as_view(), name="api-report-slo-csv"),
    path("reports/heatmap/<int:version_id>/", apis.HeatmapApi.as_view(), name="api-report-heatmap"),
    path(
        "reports/heatmap/<int:version_id>/slowest/",
        apis.HeatmapSlowestApi.as_view(),
        name="api-report-heatmap-slowest",
    ),
    path("reports/incidents/groups/", apis.IncidentGroupsApi.as_view(), name="api-incident-groups"),
    path("reports/incidents/retry/", apis.IncidentsRetryApi.as_view(), name="api-incidents-retry"),
    path("reports/instances/", apis.InstanceSearchApi.as_view(), name="api-report-instances"),
    path(
        "reports/instances/<int:instance_id>/variables/",
        apis.InstanceVariableSetApi.as_view(),
        name="api-instance-variable-set",
    ),
    path(
        "reports/instances/<int:instance_id>/timeline/",
        apis.InstanceTimelineApi.as_view(),
        name="api-instance-timeline",
    ),
]
