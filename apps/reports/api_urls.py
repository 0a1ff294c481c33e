from django.urls import path

from apps.reports import apis

urlpatterns = [
    path("reports/sla/", apis.SlaReportApi.as_view(), name="api-report-sla"),
    path("reports/sla/<slug:table>.csv", apis.SlaReportCsvApi.as_view(), name="api-report-sla-csv"),
]
