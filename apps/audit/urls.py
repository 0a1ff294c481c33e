from django.urls import path

from apps.audit import views

app_name = "audit"
urlpatterns = [
    path("", views.index, name="list"),
    path("", views.index, name="index"),  # alias of "list"
    path("verify/", views.verify, name="verify"),
    path("export.csv", views.export, {"fmt": "csv"}, name="export-csv"),
    path("export.json", views.export, {"fmt": "json"}, name="export-json"),
    path("instances/<int:instance_id>/", views.instance, name="instance"),
    path("instances/<int:instance_id>/evidence.zip", views.evidence, name="evidence"),
]
