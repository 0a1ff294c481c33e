from django.urls import path

from apps.reports import (
    circuit_views,
    decision_views,
    migration_views,
    modification_views,
    views,
)

app_name = "reports"
urlpatterns = [
    path("", views.index, name="index"),
    path("sla/", views.sla, name="sla"),
    path("decisions/", decision_views.decision_rules, name="decisions"),
    path("slo/", views.slo, name="slo"),
    path("slo/save/", views.slo_save, name="slo-save"),
    path("heatmap/", views.heatmap, name="heatmap"),
    path("incidents/", views.incidents, name="incidents"),
    path("incidents/retry/", views.incidents_retry, name="incidents-retry"),
    path("incidents/<int:incident_id>/retry/", views.incident_retry, name="incident-retry"),
    path("circuits/", circuit_views.circuits, name="circuits"),
    path("circuits/close/", circuit_views.circuit_close, name="circuit-close"),
    path("instances/", views.instances, name="instances"),
    path(
        "processes/<str:key>/migrate/",
        migration_views.process_migrate,
        name="process-migrate",
    ),
    path("migrations/", migration_views.migration_runs, name="migration-runs"),
    path("migrations/<int:run_id>/", migration_views.migration_run, name="migration-run"),
    path("instances/<int:instance_id>/", views.instance, name="instance"),
    path(
        "instances/<int:instance_id>/variable/", views.instance_variable, name="instance-variable"
    ),
    path(
        "instances/<int:instance_id>/move-token/",
        modification_views.instance_move_token,
        name="instance-move-token",
    ),
    path(
        "instances/<int:instance_id>/<slug:action>/",
        views.instance_action,
        name="instance-action",
    ),
]
