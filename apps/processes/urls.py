from django.urls import path

from apps.processes import views

app_name = "processes"
urlpatterns = [
    path("", views.process_list, name="list"),
    path("upload/", views.process_upload, name="upload"),
    path("new/", views.process_edit, name="new"),
    path("<str:key>/", views.process_edit, name="edit"),
    path("<str:key>/xml/", views.process_xml, name="xml"),
    path("<str:key>/run/", views.process_test_run, name="run"),
]
