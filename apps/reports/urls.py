from django.urls import path

from apps.reports import views

app_name = "reports"
urlpatterns = [
    path("", views.index, name="index"),
    path("incidents/", views.incidents, name="incidents"),
    path("sla/", views.sla, name="sla"),
    path("incidents/<int:incident_id>/retry/", views.incident_retry, name="incident-retry"),
]
