from django.urls import path

from apps.retention import apis

urlpatterns = [
    path("retention/policies/", apis.PolicyListApi.as_view(), name="api-retention-policies"),
    path(
        "retention/policies/<str:process_key>/",
        apis.PolicySetApi.as_view(),
        name="api-retention-policy",
    ),
    path("retention/default/", apis.DefaultApi.as_view(), name="api-retention-default"),
    path("retention/holds/<int:instance_id>/", apis.HoldApi.as_view(), name="api-retention-hold"),
    path(
        "retention/archives/<int:instance_id>/check/",
        apis.ArchiveCheckApi.as_view(),
        name="api-retention-archive-check",
    ),
]
