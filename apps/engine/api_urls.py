from django.urls import path

from apps.engine import apis, migration_apis, modification_apis

urlpatterns = [
    path("instances/", apis.InstanceListApi.as_view(), name="api-instances"),
    path("instances/<int:instance_id>/", apis.InstanceDetailApi.as_view(), name="api-instance"),
    path(
        "instances/<int:instance_id>/cancel/",
        apis.InstanceCancelApi.as_view(),
        name="api-instance-cancel",
    ),
    path(
        "instances/<int:instance_id>/suspend/",
        apis.InstanceSuspendApi.as_view(),
        name="api-instance-suspend",
    ),
    path(
        "instances/<int:instance_id>/resume/",
        apis.InstanceResumeApi.as_view(),
        name="api-instance-resume",
    ),
    path(
        "instances/<int:instance_id>/migrate/",
        migration_apis.InstanceMigrateApi.as_view(),
        name="api-instance-migrate",
    ),
    path(
        "instances/<int:instance_id>/move-token/",
        modification_apis.InstanceTokenMoveApi.as_view(),
        name="api-instance-move-token",
    ),
    path(
        "processes/<str:key>/migrations/",
        migration_apis.ProcessMigrationApi.as_view(),
        name="api-process-migrations",
    ),
    path("migrations/", migration_apis.MigrationRunListApi.as_view(), name="api-migration-runs"),
    path(
        "migrations/<int:run_id>/",
        migration_apis.MigrationRunApi.as_view(),
        name="api-migration-run",
    ),
    path("messages/", apis.MessageApi.as_view(), name="api-messages"),
    path("hooks/<int:webhook_id>/", apis.WebhookReceiveApi.as_view(), name="api-webhook-receive"),
    path("incidents/", apis.IncidentListApi.as_view(), name="api-incidents"),
    path(
        "incidents/<int:incident_id>/retry/",
        apis.IncidentRetryApi.as_view(),
        name="api-incident-retry",
    ),
]
