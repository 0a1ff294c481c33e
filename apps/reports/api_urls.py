from django.urls import path

from apps.reports import apis

urlpatterns = [
    path("reports/sla/", apis.SlaReportApi.as_view(), name="api-report-sla"),
]
