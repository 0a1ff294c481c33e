from django.urls import path

from apps.processes import apis

urlpatterns = [
    path("processes/", apis.ProcessListApi.as_view(), name="api-processes"),
    path("processes/deploy/", apis.ProcessDeployApi.as_view(), name="api-process-deploy"),
    path("processes/validate/", apis.ProcessValidateApi.as_view(), name="api-process-validate"),
    path("processes/import/", apis.ProcessImportApi.as_view(), name="api-process-import"),
    path(
        "processes/<str:key>/versions/",
        apis.ProcessVersionsApi.as_view(),
        name="api-process-versions",
    ),
    path(
        "processes/<str:key>/webhooks/",
        apis.ProcessWebhooksApi.as_view(),
        name="api-process-webhooks",
    ),
    path(
        "processes/<str:key>/viewers/",
        apis.ProcessViewersApi.as_view(),
        name="api-process-viewers",
    ),
    path("webhooks/<int:webhook_id>/", apis.WebhookDeactivateApi.as_view(), name="api-webhook"),
    path("versions/<int:version_id>/", apis.VersionDetailApi.as_view(), name="api-version"),
    path("versions/<int:version_id>/xml/", apis.VersionXmlApi.as_view(), name="api-version-xml"),
    path(
        "versions/<int:version_id>/rollback/",
        apis.VersionRollbackApi.as_view(),
        name="api-version-rollback",
    ),
    path("processes/<str:key>/draft/", apis.ProcessDraftApi.as_view(), name="api-process-draft"),
    path(
        "processes/<str:key>/compare/",
        apis.ProcessCompareApi.as_view(),
        name="api-process-compare",
    ),
]
