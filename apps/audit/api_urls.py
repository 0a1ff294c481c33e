from django.urls import path

from apps.audit import apis

urlpatterns = [
    path("audit/events/", apis.EventListApi.as_view(), name="api-audit-events"),
    path("audit/verify/", apis.VerifyApi.as_view(), name="api-audit-verify"),
    path("audit/export/", apis.ExportApi.as_view(), name="api-audit-export"),
    path(
        "audit/instances/<int:instance_id>/evidence/",
        apis.EvidenceApi.as_view(),
        name="api-audit-evidence",
    ),
]
