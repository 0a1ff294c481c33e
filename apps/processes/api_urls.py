from django.urls import path

from apps.processes.apis import decisions, definitions, drafts, versions, viewers, webhooks

urlpatterns = [
    path("processes/", definitions.ProcessListApi.as_view(), name="api-processes"),
    path("processes/deploy/", definitions.ProcessDeployApi.as_view(), name="api-process-deploy"),
    path(
        "processes/validate/", definitions.ProcessValidateApi.as_view(), name="api-process-validate"
    ),
    path("processes/import/", definitions.ProcessImportApi.as_view(), name="api-process-import"),
    path("processes/drafts/", drafts.DraftListApi.as_view(), name="api-process-drafts"),
    path(
        "processes/<str:key>/versions/",
        versions.ProcessVersionsApi.as_view(),
        name="api-process-versions",
    ),
    path(
        "processes/<str:key>/webhooks/",
        webhooks.ProcessWebhooksApi.as_view(),
        name="api-process-webhooks",
    ),
    path(
        "processes/<str:key>/viewers/",
        viewers.ProcessViewersApi.as_view(),
        name="api-process-viewers",
    ),
    path("webhooks/<int:webhook_id>/", webhooks.WebhookDeactivateApi.as_view(), name="api-webhook"),
    path("versions/<int:version_id>/", versions.VersionDetailApi.as_view(), name="api-version"),
    path(
        "versions/<int:version_id>/xml/", versions.VersionXmlApi.as_view(), name="api-version-xml"
    ),
    path(
        "versions/<int:version_id>/rollback/",
        versions.VersionRollbackApi.as_view(),
        name="api-version-rollback",
    ),
    path(
        "processes/<str:key>/draft/",
        drafts.ProcessDraftApi.as_view(),
        name="api-process-draft",
    ),
    path(
        "processes/<str:key>/compare/",
        versions.ProcessCompareApi.as_view(),
        name="api-process-compare",
    ),
    path("decisions/", decisions.DecisionListApi.as_view(), name="api-decisions"),
    path(
        "decisions/<str:key>/versions/",
        decisions.DecisionVersionsApi.as_view(),
        name="api-decision-versions",
    ),
    path(
        "decisions/<str:key>/rule-stats/",
        decisions.DecisionRuleStatsApi.as_view(),
        name="api-decision-rule-stats",
    ),
    path(
        "decisions/<str:key>/evaluate/",
        decisions.DecisionEvaluateApi.as_view(),
        name="api-decision-evaluate",
    ),
]
